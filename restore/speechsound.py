"""What speech recognition hears: the sound chain's speech steps, not necessarily all of them.

By default speech hears the whole chain, as the master does (``SPEECH_DEFAULT``).
Without the broadband denoiser Whisper's pooled WER on all the real speech in
../shared/media, aged at 10, 20 and 30 dB SNR (tests/bench/sound_wer.py,
docs/benchmarks.md), was 0.236 against 0.241 for the whole chain (0.286 for
the aged sound): within 14 words of 2,802. Lip sync, which reads the voice band
of this same copy and judges around Whisper's words, got about two turns more
right on composed dialogues (clean and aged) with the whole chain, so that is
the default; ``--speech-sound`` picks a part. The speech tap takes the sound
after the chain's leading speech steps, in the same pass as the master, and
the speech steps that come later in the chain run afterwards on the tap's 16
kHz mono file, streamed block by block."""

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
