"""Build data/sample.mp4, the demo film, from three GRID corpus clips (CC BY 4.0).

Run from the project root with ../shared/media beside it:
    .venv/bin/python data/make_sample.py
The clips are joined end to end (three speakers, two cuts) and encoded as
H.264 + AAC, as a film would arrive from a digitisation service.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from restore.media import iter_audio, iter_frames, open_source

CLIPS = ("bbaf2n", "lbax4n", "lrwp9a")  # "bin blue at f two now", "lay blue at x four now", ...
MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media" / "faces" / "grid"
OUT = Path(__file__).resolve().parent / "sample.mp4"


def main() -> None:
    sources = [open_source(MEDIA / f"{name}.mpg") for name in CLIPS]
    first = sources[0]
    assert first.video and first.audio
    rate, fps = first.audio[0].sample_rate, Fraction(25)
    with av.open(str(OUT), "w", options={"movflags": "+faststart"}) as out:
        out.metadata["title"] = "reelscribe sample: three GRID corpus speakers"
        out.metadata["comment"] = (
            "GRID audio-visual corpus (Cox et al. 2006), CC BY 4.0; see data/README.md"
        )
        video = out.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "slow"})
        video.width, video.height, video.pix_fmt = first.video.width, first.video.height, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="stereo")
        index, samples = 0, 0
        for source in sources:
            for frame in iter_frames(source):
                image = frame.image.reformat(format="yuv420p")
                image.pts, image.time_base = index, 1 / fps
                out.mux(video.encode(image))
                index += 1
            pcm = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
            pcm = pcm[:, : round(index / fps * rate) - samples]  # keep sound and picture in step
            if pcm.shape[1] < round(index / fps * rate) - samples:
                pad = round(index / fps * rate) - samples - pcm.shape[1]
                pcm = np.pad(pcm, ((0, 0), (0, pad)))
            block = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm), format="fltp", layout="stereo"
            )
            block.sample_rate, block.pts, block.time_base = rate, samples, Fraction(1, rate)
            out.mux(audio.encode(block))
            samples += pcm.shape[1]
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {index} frames)")


if __name__ == "__main__":
    main()
