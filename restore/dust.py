"""Dust and dirt: one-frame specks, found against motion-compensated neighbours and repaired
from them.

A pixel is dirt when it is brighter (or darker) than both neighbouring frames, each
brought onto it by optical flow, by more than the noise allows, while those two
neighbours agree with each other. Real motion fails the last test (what one neighbour
shows, the other does not), so a moving object is left alone. Found pixels, grown by a
pixel, take the mean of the two aligned neighbours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.motion import Aligner, Luma
from restore.picture import Picture, PictureStep, check, window


@dataclass(frozen=True)
class DustOptions:
    threshold: float = 20.0
    """Smallest difference (0-255 levels) from both neighbours that can be dirt."""
    noise_factor: float = 3.5
    """The threshold rises to this many times the measured frame-to-frame noise."""
    grow: int = 1
    """Pixels added around each speck (its soft edge)."""
    max_share: float = 0.05
    """A frame with more than this share found is a flash or a failed flow: left alone."""

    def __post_init__(self) -> None:
        check(0 < self.threshold <= 255, "dust", "threshold must be 1 to 255 levels")
        check(self.noise_factor >= 0, "dust", "noise_factor must be 0 or more")
        check(0 <= self.grow <= 10, "dust", "grow must be 0 to 10 pixels")
        check(0 < self.max_share <= 1, "dust", "max_share must be between 0 and 1")


class Dust(PictureStep):
    name = "dust"
    Options = DustOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.specks = 0
        self.frames_skipped = 0
        kernel = 2 * self.options.grow + 1
        self._kernel = np.ones((kernel, kernel), np.uint8)

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        lumas = ((p, Luma.of(p.rgb)) for p in items)
        for (picture, luma), past, future in window(lumas, 1, 1):
            pair = _neighbours(past, future)
            if pair is None:
                yield self.unchanged(picture)
                continue
            yield self._repair(picture, luma, pair)

    def _repair(self, picture: Picture, luma: Luma, pair) -> Picture:
        (a, luma_a), (b, luma_b) = pair
        aligner = Aligner.shared(self.shared)
        here = picture.original.index
        on_a = aligner.between(here, a.original.index, luma, luma_a)
        on_b = aligner.between(here, b.original.index, luma, luma_b)
        gray = luma.gray.astype(np.int16)
        d_a = gray - on_a.gray
        d_b = gray - on_b.gray
        # Flicker left between the frames is an offset, not dirt.
        d_a -= np.int16(_median(d_a))
        d_b -= np.int16(_median(d_b))
        o = self.options
        noise = _noise(d_a)
        limit = max(o.threshold, o.noise_factor * noise)
        brighter = (d_a > limit) & (d_b > limit)
        darker = (d_a < -limit) & (d_b < -limit)
        agree = np.abs(d_a - d_b) < limit  # the neighbours show the same thing there
        found = ((brighter | darker) & agree).astype(np.uint8)
        # A lone pixel is as likely grain as dirt: keep it only when it stands out twice as far.
        company = cv2.boxFilter(found, -1, (3, 3), normalize=False)
        strong = np.minimum(np.abs(d_a), np.abs(d_b)) > 2 * limit
        found = (found.astype(bool) & ((company >= 2) | strong)).astype(np.uint8)
        if found.any():
            # Where the flow is not smooth (an object's edge) the aligned neighbours are
            # least to be trusted; and dirt differs from whatever the neighbours show at
            # the same place, motion or not. Real motion fails one or the other.
            found[on_a.edges() | on_b.edges()] = 0
            for other in (luma_a.gray, luma_b.gray):
                still = gray - other
                found[(brighter & (still <= limit)) | (darker & (still >= -limit))] = 0
        if not found.any():
            return self.unchanged(picture)
        if found.mean() > o.max_share:
            self.frames_skipped += 1
            return self.unchanged(picture)
        if o.grow:
            found = cv2.dilate(found, self._kernel)
        self.specks += cv2.connectedComponents(found, connectivity=8)[0] - 1
        mask = found.astype(bool)
        fill = (on_a.sample(a.rgb, mask).astype(np.uint16) + on_b.sample(b.rgb, mask) + 1) // 2
        rgb = picture.rgb.copy()
        rgb[mask] = fill.astype(np.uint8)
        return self.changed(picture, rgb, mask)

    def measures(self) -> dict:
        return {"specks_repaired": self.specks, "frames_left_alone": self.frames_skipped}


def _neighbours(past: list, future: list):
    """The two frames that judge the current one, one either side: ``(picture, luma)``
    pairs, or None for the first and last frames. (Two frames on one side would agree
    about what a moving object uncovers, and take the object's edge for dirt.)"""
    if past and future:
        return [past[-1], future[0]]
    return None


def _median(difference: np.ndarray) -> float:
    return float(np.median(difference[::8, ::8]))


def _noise(difference: np.ndarray) -> float:
    """Frame-to-frame noise (robust sigma of the difference), on a sparse sample."""
    sample = difference[::8, ::8].astype(np.float32)
    return float(1.4826 * np.median(np.abs(sample - np.median(sample))))
