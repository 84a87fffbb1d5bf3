"""What speech recognition hears: the sound chain's speech steps, in one copy or two.

The first copy hears the chain without the broadband denoiser (clicks, hum,
loudness): where speech hardly stands above the hiss, the denoiser takes speech
away with it and Whisper drops words. A second copy hears the denoiser too:
where the hiss is lighter, it hides consonants that the denoiser gives back.
Whisper reads both and keeps, stretch by stretch, the reading it was surer of
(speech/readings.py). On all the real speech in ../shared/media aged at 10, 20
and 30 dB SNR, 10 seeds (tests/bench/sound_wer.py, docs/benchmarks.md), the
pooled WER is 0.229 with both copies, 0.246 with the first alone, 0.266 for the
aged sound. Both copies come from one tap (16 kHz mono) after the chain's
leading steps they share (clicks, hum), in the same pass as the master; each
copy's later steps (loudness; denoise, loudness) run afterwards on the tap's
file, streamed block by block.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import soundfile as sf

from restore.chain import RestoreOptions, sound_chain
from restore.errors import write_error
from restore.media import AudioBlock


def speech_steps(options: RestoreOptions) -> tuple[str, ...]:
    """The sound steps speech recognition hears, in the chain's order."""
    return tuple(name for name in options.sound if name in options.speech_sound)


def second_steps(options: RestoreOptions) -> tuple[str, ...]:
    """The sound steps the second copy for speech hears, in the chain's order; empty when
    there is no second copy (it would hear nothing the first does not)."""
    heard = tuple(
        name
        for name in options.sound
        if name in options.speech_sound or name in options.speech_second
    )
    return heard if heard != speech_steps(options) else ()


def speech_plan(options: RestoreOptions) -> tuple[int, tuple[str, ...]]:
    """Where the tap sits (after that many of the chain's steps, which every speech copy hears
    too), and the steps left to run on the tap's copy afterwards for the first copy."""
    copies = [c for c in (speech_steps(options), second_steps(options)) if c]
    at = 0
    while copies and all(at < len(c) and options.sound[at] == c[at] for c in copies):
        at += 1
    return at, speech_steps(options)[at:]


def second_plan(options: RestoreOptions) -> tuple[str, ...] | None:
    """The steps to run on the tap's copy for the second copy; None: there is none."""
    heard = second_steps(options)
    return heard[speech_plan(options)[0] :] if heard else None


def finish_copies(wav: str | Path, options: RestoreOptions, second: str | Path) -> dict:
    """Both speech copies from the tap's file: the second (when ``options`` ask for one)
    written to ``second`` first, then the first finished in place; what each heard and its
    later steps' reports, for the manifest (``second_copy`` None when there is none)."""
    after_second = second_plan(options)
    second_copy = None
    if after_second is not None:  # from the tap's copy, before that is finished in place
        second_copy = {
            "hears": list(second_steps(options)),
            "after_the_tap": finish_speech(wav, after_second, options, out=second),
        }
    return {
        "hears": list(speech_steps(options)),
        "after_the_tap": finish_speech(wav, speech_plan(options)[1], options),
        "second_copy": second_copy,
    }


def finish_speech(
    wav: str | Path,
    steps: tuple[str, ...],
    options: RestoreOptions,
    out: str | Path | None = None,
) -> list[dict]:
    """Run ``steps`` over the speech tap's file (16 kHz mono), in blocks, into ``out`` (by
    default replacing ``wav``) when done; their reports, for the manifest."""
    wav = Path(wav)
    target = Path(out) if out is not None else wav
    if not steps and target == wav:
        return []
    chain = sound_chain(dataclasses.replace(options, sound=steps))
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with sf.SoundFile(str(wav)) as source:
            rate = source.samplerate
            blocks = (
                AudioBlock(i * rate, rate, "mono", block[None, :])
                for i, block in enumerate(source.blocks(blocksize=rate, dtype="float32"))
            )
            with sf.SoundFile(str(part), "w", rate, 1, "FLOAT", format="WAV") as copy:
                for block in chain.process(blocks):
                    copy.write(block.samples[0])
        os.replace(part, target)
    except (sf.LibsndfileError, OSError) as error:
        part.unlink(missing_ok=True)
        raise write_error(target, error) from error
    return chain.report()
