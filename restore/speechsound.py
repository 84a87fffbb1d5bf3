"""What speech recognition hears: the sound chain's speech steps, not necessarily all of them.

Whisper hears better without the broadband denoiser: on all the real speech in
../shared/media, aged at 10, 20 and 30 dB SNR (tests/bench/sound_wer.py,
docs/benchmarks.md), clicks, hum and loudness gave a pooled WER of 0.231
against 0.245 for the master's whole chain and 0.286 for the aged sound, and
were never worse than the aged sound for any corpus at any SNR, where the whole
chain was worse for GRID at 20 and 30 dB; the denoiser's artefacts cost most at
10 dB. Lip sync does not need the denoiser either: on the 1-4 kHz band that
attribution reads, the composed dialogues scored the same before the chain as
after it (docs/benchmarks.md, issue 5's sections). So the speech tap takes the sound
after the chain's leading speech steps (clicks, hum), in the same pass as the
master, and the speech steps that come later in the chain (loudness) run
afterwards on the tap's 16 kHz mono file, streamed block by block.
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


def speech_plan(options: RestoreOptions) -> tuple[int, tuple[str, ...]]:
    """Where the tap sits (after that many of the chain's steps, which speech hears too), and
    the speech steps left to run on the tap's copy afterwards."""
    heard = speech_steps(options)
    at = 0
    while at < len(heard) and options.sound[at] == heard[at]:
        at += 1
    return at, heard[at:]


def finish_speech(wav: str | Path, steps: tuple[str, ...], options: RestoreOptions) -> list[dict]:
    """Run ``steps`` over the speech tap's file (16 kHz mono), in blocks, replacing it when
    done; their reports, for the manifest."""
    if not steps:
        return []
    wav = Path(wav)
    chain = sound_chain(dataclasses.replace(options, sound=steps))
    part = wav.with_name(f".{wav.name}.{os.getpid()}.part")
    try:
        with sf.SoundFile(str(wav)) as source:
            rate = source.samplerate
            blocks = (
                AudioBlock(i * rate, rate, "mono", block[None, :])
                for i, block in enumerate(source.blocks(blocksize=rate, dtype="float32"))
            )
            with sf.SoundFile(str(part), "w", rate, 1, "FLOAT", format="WAV") as out:
                for block in chain.process(blocks):
                    out.write(block.samples[0])
        os.replace(part, wav)
    except (sf.LibsndfileError, OSError) as error:
        part.unlink(missing_ok=True)
        raise write_error(wav, error) from error
    return chain.report()
