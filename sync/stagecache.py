"""The stage cache: finished stage results kept on disk, so an interrupted run resumes.

A result is stored under a key made of the source's content hash, the stage's
name and the options that decide its result (as JSON), so a film that changed,
or a run with other options, never reads a stale entry. Entries are pickled
frozen dataclasses, written under a temporary name and renamed when complete:
a run killed while writing one leaves no entry that looks whole.

Only our own runs write this folder; like any pickle, an entry is trusted code
and the folder must not be shared with people you do not trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import secrets
import shutil
from dataclasses import asdict, is_dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def options_key(*parts) -> str:
    """A stable short hash of options (dataclasses, dicts, plain values)."""
    plain = [asdict(p) if is_dataclass(p) and not isinstance(p, type) else p for p in parts]
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StageCache:
    """A folder of stage results: ``get``/``put`` by (stage, source hash, options key)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, stage: str, source_hash: str, key: str) -> Path:
        return self.folder / f"{source_hash[:32]}.{stage}.{key}.pickle"

    def get(self, stage: str, source_hash: str, key: str):
        path = self._path(stage, source_hash, key)
        try:
            with open(path, "rb") as handle:
                value = pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception as error:  # noqa: BLE001 - a damaged entry is recomputed, not fatal
            log.warning("stage cache: ignoring unreadable %s (%s)", path.name, error)
            return None
        log.info("stage cache: %s taken from %s", stage, path.name)
        return value

    def put(self, stage: str, source_hash: str, key: str, value) -> None:
        path = self._path(stage, source_hash, key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            with open(tmp, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError as error:  # a cache that cannot be written only costs time later
            log.warning("stage cache: cannot write %s (%s)", path.name, error)

    # -- entries that carry files (the master stage: the master before muxing, the speech WAVs)
    def _folder(self, stage: str, source_hash: str, key: str) -> Path:
        return self.folder / f"{source_hash[:32]}.{stage}.{key}.files"

    def put_files(self, stage: str, source_hash: str, key: str, value, files: dict) -> None:
        """Keep ``value`` and hard links to ``files`` (name -> path); no copy is made.

        Files on another file system than the cache are not kept (nothing is cached then).
        """
        folder = self._folder(stage, source_hash, key)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in files.items():
                target = folder / name
                target.unlink(missing_ok=True)
                os.link(path, target)
        except OSError as error:
            log.info("stage cache: not keeping %s files (%s)", stage, error)
            self.drop(stage, source_hash, key)
            return
        self.put(stage, source_hash, key, value)  # last: the entry is whole when it exists

    def get_files(self, stage: str, source_hash: str, key: str, files: dict):
        """The value, with its files hard-linked to ``files`` (name -> path); None on a miss."""
        folder = self._folder(stage, source_hash, key)
        value = self.get(stage, source_hash, key)
        if value is None:
            return None
        try:
            for name, path in files.items():
                os.link(folder / name, path)
        except OSError as error:
            log.warning("stage cache: %s files unusable (%s); computing again", stage, error)
            for path in files.values():
                Path(path).unlink(missing_ok=True)
            return None
        return value

    def drop(self, stage: str, source_hash: str, key: str) -> None:
        """Forget an entry (big file entries are dropped once the run is finished)."""
        self._path(stage, source_hash, key).unlink(missing_ok=True)
        shutil.rmtree(self._folder(stage, source_hash, key), ignore_errors=True)


def cast_fingerprint(cast: Path | None) -> list | None:
    """What a cast file's result depends on: its text and its folder's photos (name, size, time)."""
    if cast is None:
        return None
    cast = Path(cast)
    try:
        text = hashlib.sha256(cast.read_bytes()).hexdigest()
        files = sorted(
            (str(p.relative_to(cast.parent)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in cast.parent.rglob("*")
            if p.is_file() and p != cast
        )
    except OSError:
        return [str(cast)]  # unreadable: the face stage reports it
    return [text, files]
