"""The manifest: what ran, with what, on what, how long it took, and what it changed."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata

SCHEMA = "reelscribe.manifest/1"
_PACKAGES = ("reelscribe", "av", "numpy", "faster-whisper", "ctranslate2", "pysubs2", "soundfile")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
