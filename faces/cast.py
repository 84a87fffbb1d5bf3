"""Cast files: names for characters from reference photos.

[[character]]
name = "Ben"
photos = ["cast/ben_1.jpg", "cast/ben_2.jpg"]   # relative to the cast file
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from restore.errors import UsageError


@dataclass(frozen=True)
class CastMember:
    name: str
    photos: tuple[Path, ...]


def read_cast(path: str | Path) -> tuple[CastMember, ...]:
    """Parse and check a cast file; photos must lie in the cast file's folder tree."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"--cast {path}: cannot read it ({error.strerror or error})") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--cast {path}: not valid TOML ({error})") from error
    entries = data.get("character")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"--cast {path}: expected [[character]] tables with name and photos")
    root = path.resolve().parent
    members = []
    for number, entry in enumerate(entries, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        photos = entry.get("photos") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"--cast {path}: character {number} has no name")
        if (
            not isinstance(photos, list)
            or not photos
            or not all(isinstance(p, str) for p in photos)
        ):
            raise UsageError(f'--cast {path}: {name!r} needs photos = ["file.jpg", ...]')
        resolved = []
        for photo in photos:
            try:  # symlinks are followed first: one pointing out of the folder is refused too
                full = (root / photo).resolve()
                exists = full.is_file()
            except (OSError, ValueError) as error:  # a NUL byte, a name too long, a loop
                raise UsageError(f"--cast {path}: photo {photo!r} is not a usable path") from error
            if not full.is_relative_to(root):
                raise UsageError(f"--cast {path}: photo {photo!r} lies outside the cast's folder")
            if not exists:
                raise UsageError(f"--cast {path}: photo {photo!r} of {name!r} does not exist")
            resolved.append(full)
        members.append(CastMember(" ".join(name.split()), tuple(resolved)))
    return tuple(members)


def load_rgb(path: Path) -> np.ndarray:
    import av

    try:
        with av.open(str(path)) as container:
            return next(container.decode(video=0)).to_ndarray(format="rgb24")
    except (av.error.FFmpegError, StopIteration) as error:
        raise UsageError(f"cast photo {path} is not an image FFmpeg can read") from error


def cast_embeddings(members: tuple[CastMember, ...], device: str = "cpu") -> dict[str, np.ndarray]:
    """The mean identity vector of each cast member's photos (the largest face in each)."""
    from faces.detect import MTCNNFaces
    from faces.identity import embed

    detector = MTCNNFaces(device, min_prob=0.8)
    out = {}
    for member in members:
        vectors = []
        for photo in member.photos:
            rgb = load_rgb(photo)
            boxes = detector.boxes(rgb)
            if not boxes:
                raise UsageError(f"cast photo {photo}: no face found in it")
            box = max(boxes, key=lambda b: b[0][2] * b[0][3])[0]
            vectors.append(embed(rgb, box))
        out[member.name] = np.mean(vectors, axis=0)
    return out
