"""Colour fading: per-channel levels and balance from the film's own statistics, per shot.

A faded print has lifted blacks, dull whites and a cast (one dye layer faded faster than
the others). Each channel's dark and light points (low and high percentiles) are taken
over a centred window of frames within the shot (a median, so the correction is steady
and a cut starts afresh), stretched to a common black and white, and, when asked, balanced so
the channels' mid-tones meet (grey world, by a gamma per channel). ``auto`` acts only on a
frame whose cast or fading measures above the thresholds; black-and-white film with
full contrast is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from restore.picture import Picture, PictureStep, check, window
from restore.shots import CutDetector


@dataclass(frozen=True)
class ColourOptions:
    mode: str = "on"
    """on: always; auto: only where a cast or fading measures above the thresholds."""
    radius: int = 12
    """Frames either side pooled for the statistics (within the shot)."""
    clip: float = 0.5
    """Percent of pixels let go to pure black and to pure white, per channel."""
    strength: float = 1.0
    """Share of the correction applied (0 to 1)."""
    cast_threshold: float = 0.1
    """auto: smallest cast corrected (share of full scale): how far one channel stands
    from the others at the dark, middle and light points alike. A faded dye layer shifts
    all three; a warm or cool scene shifts them less (a tungsten-lit face: about 0.06)."""
    fade_threshold: float = 0.35
    """auto: a tonal range (share of full scale) narrower than this is corrected."""
    balance: bool = False
    """Also meet the channels' mid-tones (grey world): for a print faded unevenly in the
    mid-tones; off by default, since many scenes are rightly warm or cool."""

    def __post_init__(self) -> None:
        check(self.mode in ("on", "auto"), "colour", "mode must be on or auto")
        check(1 <= self.radius <= 100, "colour", "radius must be 1 to 100 frames")
        check(0 <= self.clip < 10, "colour", "clip must be 0 to 10 percent")
        check(0 <= self.strength <= 1, "colour", "strength must be 0 to 1")


@dataclass(frozen=True)
class _Stats:
    low: np.ndarray  # per channel
    high: np.ndarray
    middle: np.ndarray
    shot: int


class Colour(PictureStep):
    name = "colour"
    Options = ColourOptions

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self._casts: list[float] = []
        self._ranges: list[float] = []
        self._acting_in = -1

    def _measured(self, items: Iterator[Picture]) -> Iterator[tuple[Picture, _Stats]]:
        cuts = CutDetector()
        q = self.options.clip
        for picture in items:
            cuts.push(cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY))
            sample = picture.rgb[::8, ::8].reshape(-1, 3)
            low, middle, high = np.percentile(sample, [q, 50, 100 - q], axis=0)
            yield picture, _Stats(low, high, middle, cuts.shot)

    def run(self, items: Iterator[Picture]) -> Iterator[Picture]:
        o = self.options
        for (picture, stats), past, future in window(self._measured(items), o.radius, o.radius):
            near = [s for _, s in (*past, *future) if s.shot == stats.shot] + [stats]
            low = np.median([s.low for s in near], axis=0)
            high = np.median([s.high for s in near], axis=0)
            middle = np.median([s.middle for s in near], axis=0)
            table, cast, tonal = _table(low, high, middle, o.strength, o.balance)
            self._casts.append(cast)
            self._ranges.append(tonal)
            if o.mode == "auto":
                # Once a shot needs it, the whole rest of the shot gets it (no flicker of
                # corrected and uncorrected frames).
                if cast >= o.cast_threshold or tonal < o.fade_threshold:
                    self._acting_in = stats.shot
                if self._acting_in != stats.shot:
                    yield self.unchanged(picture)
                    continue
            rgb = cv2.LUT(picture.rgb, table)
            yield self.changed(picture, rgb)

    def measures(self) -> dict:
        return {
            "cast_measured": round(float(np.median(self._casts)), 4) if self._casts else 0.0,
            "tonal_range_measured": round(float(np.median(self._ranges)), 4)
            if self._ranges
            else 0.0,
        }


def _table(low: np.ndarray, high: np.ndarray, middle: np.ndarray, strength: float, balance: bool):
    """A 1 x 256 x 3 lookup table, and the cast and tonal range it answers."""
    black, white = 4.0, 251.0
    low = np.minimum(low, high - 8)
    levels = np.arange(256, dtype=np.float32)[:, None]
    stretched = (levels - low) / (high - low) * (white - black) + black
    mids = (middle - low) / (high - low)  # each channel's mid-tone after the stretch, 0..1
    mids = np.clip(mids, 0.05, 0.95)
    target = float(np.clip(np.exp(np.mean(np.log(mids))), 0.05, 0.95))
    gamma = np.log(target) / np.log(mids) if balance else np.ones(3)  # mid ** gamma == target
    unit = np.clip((stretched - black) / (white - black), 0, 1)
    balanced = unit**gamma * (white - black) + black
    out = levels + strength * (balanced - levels)
    table = np.clip(out + 0.5, 0, 255).astype(np.uint8).reshape(1, 256, 3)
    cast = _cast(low, middle, high)
    tonal = float(np.min(high - low) / 255.0)
    return table, cast, tonal


def _cast(low: np.ndarray, middle: np.ndarray, high: np.ndarray) -> float:
    """The largest shift of one channel from the others' mean that holds, in the same
    direction, at the dark, middle and light points (share of full scale)."""
    shifts = np.stack([q - q.mean() for q in (low, middle, high)])  # 3 points x 3 channels
    same_way = np.all(shifts > 0, axis=0) | np.all(shifts < 0, axis=0)
    held = np.where(same_way, np.min(np.abs(shifts), axis=0), 0.0)
    return float(np.max(held) / 255.0)
