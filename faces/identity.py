"""Who is who: a 128-d face embedding per track (dlib's ResNet from face-recognition-models,
offline), and tracks clustered into characters across the whole film."""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from faces.types import Box

log = logging.getLogger(__name__)

# Largest distance between two tracks' mean vectors for one person. dlib's rule for two single
# faces is 0.6; track means are steadier, and on aged footage different people came as close
# as 0.53 (docs/benchmarks.md), so characters are joined only under 0.45. Splitting one person
# in two costs a rename; merging two people gives lines to the wrong character.
SAME_PERSON = 0.45


def _model_file(name: str) -> str:
    # Located without importing face_recognition_models (its __init__ imports pkg_resources).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "models" / name)


@lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    shapes = dlib.shape_predictor(_model_file("shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(_model_file("dlib_face_recognition_resnet_model_v1.dat"))
    return shapes, net


def embed(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The identity vector of the face in ``box`` (pixels of ``rgb``)."""
    import dlib

    shapes, net = _dlib_models()
    x, y, w, h = box
    rect = dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    shape = shapes(image, rect)
    return np.asarray(net.compute_face_descriptor(image, shape), dtype=np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def cluster(
    embeddings: list[np.ndarray], apart: set[tuple[int, int]], threshold: float = SAME_PERSON
) -> list[int]:
    """Average-linkage clustering with cannot-links: a label per embedding.

    ``apart`` holds pairs (i, j) that cannot be one person (seen at the same moment).
    """
    n = len(embeddings)
    if n == 0:
        return []
    vectors = np.stack(embeddings).astype(np.float64)
    dist = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=-1)
    for a, b in apart:
        dist[a, b] = dist[b, a] = np.inf
    np.fill_diagonal(dist, np.inf)
    sizes = np.ones(n)
    owner = list(range(n))  # which cluster (by its first member) each embedding is in
    alive = np.ones(n, bool)
    while alive.sum() > 1:
        flat = int(np.argmin(dist))
        i, j = divmod(flat, n)
        if not np.isfinite(dist[i, j]) or dist[i, j] > threshold:
            break
        # Lance-Williams update for average linkage; inf (cannot-link) stays inf.
        with np.errstate(invalid="ignore"):
            merged = (sizes[i] * dist[i] + sizes[j] * dist[j]) / (sizes[i] + sizes[j])
        merged[np.isnan(merged)] = np.inf
        dist[i, :] = dist[:, i] = merged
        dist[i, i] = np.inf
        dist[j, :] = dist[:, j] = np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        owner = [i if o == j else o for o in owner]
    order = {root: label for label, root in enumerate(dict.fromkeys(owner))}
    return [order[o] for o in owner]
