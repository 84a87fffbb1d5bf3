"""The face stage's active-speaker bookkeeping (faces/speaking.py), with a stand-in model
whose score for a frame is the time its sound was taken from: each observation must get
the score of its own moment, across the pieces a long track is cut into."""

from __future__ import annotations

import numpy as np

from faces.speaking import CHUNK_FRAMES, OVERLAP_FRAMES, SpeakingAudio, SpeakingScorer, wide_view


class TimeModel:
    """Scores each frame with the row index (hundredths of a second) of its sound."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, crops, features, exact=False):
        self.calls += 1
        assert crops.shape[1:] == (112, 112) and len(features) >= 4 * len(crops)
        return features[: 4 * len(crops) : 4, 0].astype(np.float32)


def test_every_observation_of_a_long_track_gets_its_own_moment_across_pieces():
    seconds = 100.0  # 2500 frames: three pieces
    rows = int(seconds * 100) + 400
    features = np.zeros((rows, 13), np.float32)
    features[:, 0] = np.arange(rows)
    model = TimeModel()
    scorer = SpeakingScorer(SpeakingAudio(features), model=model)
    grey = np.full((288, 360), 120, np.uint8)
    times = np.arange(0.0, seconds, 0.04)
    for t in times:
        scorer.add(7, float(t), grey, (120.0, 80.0, 100.0, 120.0))
    scorer.close(7)
    scores = np.asarray(scorer.scores(7))
    assert len(scores) == len(times)
    assert model.calls >= len(times) // CHUNK_FRAMES
    assert np.abs(scores - times * 100).max() <= 4.0  # within a frame's 4 rows


def test_a_short_track_is_scored_in_one_piece_with_the_offset_applied():
    features = np.zeros((2000, 13), np.float32)
    features[:, 0] = np.arange(2000)
    model = TimeModel()
    scorer = SpeakingScorer(SpeakingAudio(features, start=0.5), model=model)  # sound late
    grey = np.full((288, 360), 120, np.uint8)
    times = np.arange(2.0, 6.0, 0.04)
    for t in times:
        scorer.add(1, float(t), grey, (120.0, 80.0, 100.0, 120.0))
    scorer.close(1)
    assert model.calls == 1 and len(times) < CHUNK_FRAMES + 2 * OVERLAP_FRAMES
    assert np.abs(np.asarray(scorer.scores(1)) - (times - 0.5) * 100).max() <= 4.0
    assert scorer.scores(2) is None  # never seen


def test_wide_view_centres_below_the_face_and_pads_with_grey_110():
    grey = np.zeros((200, 200), np.uint8)
    grey[90:110, 90:110] = 255  # a bright square at the box centre
    view, (x0, y0, zoom) = wide_view(grey, (50.0, 50.0, 100.0, 100.0))
    assert view.shape == (192, 192)
    bright = np.argwhere(view > 128).mean(axis=0)
    assert 90 <= bright[1] <= 102  # centred across
    assert bright[0] < 96  # the view hangs a fifth of a face below the box's centre
    edge, _ = wide_view(grey, (-40.0, -40.0, 80.0, 80.0))
    assert edge[0, 0] == 110  # past the frame's edge
