"""Picture restoration, measured: ours against FFmpeg's classic chain, in the same run.

1. Real clean footage aged with known defects. The three talking-head clips of
   ../shared/media/faces/talking, joined (two cuts), scaled and cropped to 640x480 (385
   frames), get flicker (whole frame and a drifting uneven part), dust and dirt specks
   (with their masks), and a drifting vertical scratch; no grain is added, so the clean
   clip is the answer. Both restorers run as whole commands on the aged FFV1 file:
   ``reelscribe restore`` (archival preset) and FFmpeg's deflicker, tmedian and
   atadenoise through PyAV's filter graph. Printed: PSNR and SSIM against the clean
   clip, error left on the dust pixels, flicker (std of frame means, against the
   clean clip's own), high-frequency energy kept, and frames per second of each
   command, start-up included.
2. Real old film (../shared/media/film): one-frame impulses (pixels unlike both
   neighbours) per frame before and after, and high-frequency energy kept (the grain).
   ``--stills DIR`` writes before/after stills.

    python tests/bench/picture.py [--frames N] [--stills docs/picture]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT.parent / "shared" / "media"
FFMPEG_CHAIN = "format=gbrp,deflicker=size=5:mode=am,tmedian=radius=1,atadenoise"
WIDTH, HEIGHT = 640, 480


# --- the aged clip --------------------------------------------------------------------------


def clean_frames(limit: int | None = None):
    """The talking-head clips at 640x480 (scaled to 640 wide, centre rows kept)."""
    count = 0
    for name in ("face_1.mp4", "face_2.mp4", "face_3.mp4"):
        with av.open(str(MEDIA / "faces" / "talking" / name)) as container:
            for frame in container.decode(video=0):
                rgb = frame.to_ndarray(format="rgb24")
                h, w = rgb.shape[:2]
                scaled = cv2.resize(
                    rgb, (WIDTH, round(h * WIDTH / w)), interpolation=cv2.INTER_AREA
                )
                top = (scaled.shape[0] - HEIGHT) // 2
                yield np.ascontiguousarray(scaled[top : top + HEIGHT])
                count += 1
                if limit and count >= limit:
                    return


def age(rgb: np.ndarray, index: int, rng: np.random.Generator):
    """The frame as a damaged print, and the mask of its dust pixels."""
    out = rgb.astype(np.float32)
    h, w = out.shape[:2]
    # flicker: the whole frame, and a slow uneven part (brighter on one side, drifting)
    gain = 1.0 + 0.12 * np.sin(index * 1.7) + 0.05 * rng.standard_normal()
    ramp = 1.0 + 0.06 * np.sin(index * 0.9) * np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    out *= (gain * ramp)[..., None]
    # a scratch: 2 px, bright, drifting sideways, most of the height
    x = int(w * 0.3 + 20 * np.sin(index / 40))
    top = int(h * 0.05 * (1 + np.sin(index / 7)))
    out[top:, x : x + 2] = np.minimum(out[top:, x : x + 2] + 70, 255)
    # dust and dirt: blobs of 1-5 px radius, dark or bright, 4 to 14 a frame
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(4, 15))):
        cy, cx = int(rng.integers(5, h - 5)), int(rng.integers(5, w - 5))
        axes = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        speck = np.zeros((h, w), np.uint8)
        cv2.ellipse(speck, (cx, cy), axes, float(rng.integers(0, 180)), 0, 360, 1, -1)
        value = float(rng.uniform(0, 40) if rng.random() < 0.6 else rng.uniform(215, 255))
        out[speck.astype(bool)] = value
        mask |= speck
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), mask.astype(bool)


def write_ffv1(path: Path, frames, fps: int = 25) -> None:
    with av.open(str(path), "w", format="matroska") as out:
        # the master's own FFV1 settings, so both commands pay the same encoder
        stream = out.add_stream("ffv1", rate=fps, options={"level": "3", "slicecrc": "1", "g": "1"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "bgr0"
        stream.codec_context.thread_count = 0  # as the master: FFmpeg picks
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="bgr0")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def read_rgb(path: Path):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


# --- FFmpeg's chain -------------------------------------------------------------------------


def ffmpeg_filter(frames, width: int, height: int, chain: str = FFMPEG_CHAIN):
    """RGB frames through an FFmpeg filter chain (PyAV's graph); RGB frames out, in order."""
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=Fraction(1, 25))
    last = source
    for part in chain.split(","):
        name, _, args = part.partition("=")
        node = graph.add(name, args) if args else graph.add(name)
        last.link_to(node)
        last = node
    sink = graph.add("buffersink")
    last.link_to(sink)
    graph.configure()

    def pull():
        while True:
            try:
                yield graph.pull().to_ndarray(format="rgb24")
            except (av.error.BlockingIOError, av.error.EOFError):
                return

    for i, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = i
        graph.push(frame)
        yield from pull()
    graph.push(None)
    yield from pull()


def ffmpeg_command(source: Path, target: Path) -> None:
    """FFmpeg's classic chain as a whole command: decode, filter, FFV1 out."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        frames = (f.to_ndarray(format="rgb24") for f in container.decode(stream))
        write_ffv1(target, ffmpeg_filter(frames, width, height))


# --- measures -------------------------------------------------------------------------------


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004, Gaussian window 11/1.5) on luma."""
    x, y = gray(a), gray(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(v):
        return cv2.GaussianBlur(v, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def high_frequency(rgb: np.ndarray) -> float:
    g = gray(rgb)
    return float(np.mean((g - cv2.GaussianBlur(g, (0, 0), 1.0)) ** 2))


def impulses(previous: np.ndarray, current: np.ndarray, following: np.ndarray) -> int:
    """Pixels more than 40 levels brighter or darker than both neighbouring frames."""
    p, c, f = gray(previous), gray(current), gray(following)
    return int(np.count_nonzero((c - np.maximum(p, f) > 40) | (np.minimum(p, f) - c > 40)))


def timed(command: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


# --- the two parts --------------------------------------------------------------------------


def aged_comparison(frames: int | None, work: Path) -> None:
    rng = np.random.default_rng(6)
    aged_path, clean_path = work / "aged.mkv", work / "clean.mkv"
    masks = []
    clean = list(clean_frames(frames))
    aged = []
    for i, rgb in enumerate(clean):
        damaged, mask = age(rgb, i, rng)
        aged.append(damaged)
        masks.append(mask)
    write_ffv1(aged_path, aged)
    write_ffv1(clean_path, clean)
    del aged
    n = len(clean)
    ours_path, theirs_path = work / "ours.mkv", work / "ffmpeg.mkv"
    python = sys.executable
    seconds = {
        "ffmpeg chain": timed([python, __file__, "--ffmpeg", str(aged_path), str(theirs_path)]),
        "ours (archival)": timed(
            [python, "-m", "sync.cli", "restore", str(aged_path), "-o", str(ours_path), "--quiet"]
        ),
    }
    outputs = {
        "aged input": read_rgb(aged_path),
        "ffmpeg chain": read_rgb(theirs_path),
        "ours (archival)": read_rgb(ours_path),
    }
    rows = {name: {"psnr": [], "ssim": [], "dust": [], "means": [], "hf": []} for name in outputs}
    clean_means, clean_hf = [], []
    counted = dict.fromkeys(outputs, 0)
    for i, truth in enumerate(clean):
        clean_means.append(gray(truth).mean())
        clean_hf.append(high_frequency(truth))
        for name, stream in outputs.items():
            rgb = next(stream, None)
            if rgb is None:
                continue
            counted[name] += 1
            row = rows[name]
            row["psnr"].append(psnr(rgb, truth))
            row["ssim"].append(ssim(rgb, truth))
            error = np.abs(rgb.astype(np.float32) - truth.astype(np.float32)).mean(axis=-1)
            row["dust"].append(float(error[masks[i]].mean()) if masks[i].any() else 0.0)
            row["means"].append(gray(rgb).mean())
            row["hf"].append(high_frequency(rgb))
    dust_in = np.mean(rows["aged input"]["dust"])
    print(f"\n## Aged real footage: {n} frames at {WIDTH}x{HEIGHT} (3 clips, 2 cuts)")
    print(f"clean clip: flicker (std of frame means) {np.std(clean_means):.2f}")
    print("| | frames | PSNR dB | SSIM | dust error | dust cut | flicker | HF kept | fps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        fps = f"{n / seconds[name]:.1f}" if name in seconds else "-"
        dust = np.mean(row["dust"])
        flicker = np.std(np.array(row["means"]) - np.array(clean_means[: len(row["means"])]))
        print(
            f"| {name} | {counted[name]} | {np.mean(row['psnr']):.2f} | {np.mean(row['ssim']):.4f} "
            f"| {dust:.1f} | {100 * (1 - dust / dust_in):.0f}% | {flicker:.2f} "
            f"| {np.sum(row['hf']) / np.sum(clean_hf[: len(row['hf'])]):.2f} | {fps} |"
        )
    print(
        "(flicker: std of the frame-mean error against the clean clip; HF kept: fine-detail "
        "energy against the clean clip's; fps: the whole command, start-up included)"
    )


def real_film(stills: Path | None) -> None:
    sys.path.insert(0, str(ROOT))
    from restore.chain import RestoreOptions, picture_chain
    from restore.media import iter_frames, open_source
    from restore.picture import picture_plan

    films = {
        "bofb_003.mkv": (MEDIA / "film" / "bofb_003.mkv", None),
        "bofb_001 (PNG scans)": (MEDIA / "film" / "bofb_001", "24"),
        "a-bomb clip": (MEDIA / "film" / "a-bomb_blast_effects_part.mp4", None),
    }
    print("\n## Real old film: one-frame impulses per frame (and HF energy kept)")
    print(
        "| film | frames | input | ffmpeg chain | ours (archival) | ours HF kept | ffmpeg HF kept |"
    )
    print("|---|---|---|---|---|---|---|")
    names, settings = picture_plan("archival")
    for label, (path, fps) in films.items():
        source = open_source(path, fps=fps)
        before = [f.rgb() for f in iter_frames(source)]
        chain = picture_chain(RestoreOptions(picture=names, picture_settings=settings))
        ours = [f.rgb() for f in chain.process(iter_frames(source))]
        h, w = before[0].shape[:2]
        theirs = list(ffmpeg_filter(iter(before), w, h))

        def count(frames):
            return np.mean([impulses(*frames[i - 1 : i + 2]) for i in range(1, len(frames) - 1)])

        def hf(frames, before=before):
            return sum(high_frequency(f) for f in frames) / sum(high_frequency(f) for f in before)

        print(
            f"| {label} | {len(ours)} | {count(before):.0f} | {count(theirs):.0f} "
            f"| {count(ours):.0f} | {hf(ours):.2f} | {hf(theirs):.2f} |"
        )
        if stills is not None:
            stills.mkdir(parents=True, exist_ok=True)
            i = len(before) // 2
            pair = np.concatenate([before[i], ours[i]], axis=1)
            stem = label.split()[0].replace(".mkv", "")
            cv2.imwrite(
                str(stills / f"{stem}.before-after.jpg"),
                pair[..., ::-1],
                [cv2.IMWRITE_JPEG_QUALITY, 85],
            )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--ffmpeg":
        ffmpeg_command(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, help="only the first N frames of the aged clip")
    parser.add_argument("--stills", type=Path, help="write before/after stills of the real film")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(2)
    with tempfile.TemporaryDirectory(prefix="picture-bench-") as work:
        aged_comparison(args.frames, Path(work))
    if not args.skip_real:
        real_film(args.stills)


if __name__ == "__main__":
    main()
