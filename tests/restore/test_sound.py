"""Sound restoration: each step on generated signals with a known answer, then real speech aged."""

from __future__ import annotations

import numpy as np
import pytest

from restore.chain import RestoreOptions, sound_chain
from restore.clicks import ClickOptions, Declick, find_clicks
from restore.hiss import Dehiss, HissOptions
from restore.hum import Dehum, find_hum, prominence, spectrum
from restore.loudness import Loudness, measure
from restore.media import AudioBlock, iter_audio, open_source

RATE = 48000


def blocks_of(samples: np.ndarray, rate: int = RATE, block: int = RATE):
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    for i in range(0, samples.shape[1], block):
        yield AudioBlock(i, rate, layout, np.ascontiguousarray(samples[:, i : i + block]))


def run(step, samples: np.ndarray, rate: int = RATE, block: int = RATE) -> np.ndarray:
    out = list(step.process(blocks_of(samples, rate, block)))
    assert [b.start for b in out] == list(range(0, samples.shape[1], block))
    return np.concatenate([b.samples for b in out], axis=1)


def voice(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A speech-like test signal: a gliding 90-180 Hz pulse train (a voice's low end), filtered
    into formants, in syllables with pauses between them. Mono (1, n)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 135 + 45 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(f0) / rate
    # glottal pulses are not ideal impulses: each a 2 ms raised cosine
    pulses = np.convolve(
        np.diff(np.floor(phase), prepend=0.0), np.hanning(int(0.002 * rate)), "same"
    )
    out = np.zeros(n)
    for formant, width in ((700, 130), (1200, 150), (2600, 250)):
        r = np.exp(-np.pi * width / rate)
        out += lfilter([1.0], [1, -2 * r * np.cos(2 * np.pi * formant / rate), r * r], pulses)
    syllables = (np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6)) > -0.3).astype(float)
    out *= np.convolve(syllables, np.hanning(int(0.02 * rate)) / (0.01 * rate), "same")
    out += 1e-3 * rng.standard_normal(n)  # a little room noise
    return (0.2 * out / np.abs(out).max())[None, :].astype(np.float32)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    ref = reference.ravel().astype(np.float64)
    est = estimate.ravel().astype(np.float64)
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / max(np.sum((est - target) ** 2), 1e-30)))


# -- hum ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_is_found_at_its_mains_frequency_and_notched_30_db_down(mains, age_sound_fn):
    clean = voice(8.0)
    aged, _ = age_sound_fn(clean, RATE, snr_db=None, hum_hz=mains, hum_db=-30)
    step = Dehum()
    out = run(step, aged)
    assert step.mains == mains
    freqs, before = spectrum(aged[0], RATE)
    _, after = spectrum(out[0], RATE)
    _, was = prominence(freqs, before, mains)
    _, now = prominence(freqs, after, mains)
    assert was - now >= 30, (was, now)
    for k in (2, 3, 4):  # the harmonics (some partly masked by the voice) are gone too
        assert prominence(freqs, after, mains * k)[1] < 6
    # speech's own low end (the voice's fundamental, 90-180 Hz) is kept: within 1 dB
    band = (
        (freqs > 85)
        & (freqs < 185)
        & np.all([np.abs(freqs - mains * k) > 3 for k in (1, 2, 3, 4)], 0)
    )
    _, clean_power = spectrum(clean[0], RATE)
    kept = 10 * np.log10(after[band].sum() / clean_power[band].sum())
    assert abs(kept) < 1.0
    report = step.report()
    assert report["found"] and report["removed_db"] >= 30


def test_no_hum_means_no_filter():
    clean = voice(6.0)
    assert find_hum(clean[0], RATE) == (None, [])
    step = Dehum()
    assert np.array_equal(run(step, clean), clean)
    assert step.report()["found"] is False


def test_hum_streaming_equals_one_block(age_sound_fn):
    aged, _ = age_sound_fn(voice(5.0), RATE, snr_db=None)
    whole = run(Dehum(), aged, block=aged.shape[1])
    streamed = run(Dehum(), aged, block=4800)
    assert np.allclose(whole, streamed, atol=1e-5)


# -- clicks -------------------------------------------------------------------------------------
def test_clicks_at_known_places_are_found_and_repaired(age_sound_fn):
    clean = voice(6.0)
    aged, starts = age_sound_fn(clean, RATE, snr_db=None, hum_hz=None, clicks_per_s=8)
    step = Declick()
    out = run(step, aged)
    report = step.report()
    assert report["clicks_repaired"] >= 0.9 * len(starts)
    assert report["clicks_repaired"] <= 1.2 * len(starts)  # speech itself is not "repaired"
    assert si_sdr(clean, out) > si_sdr(clean, aged) + 10
    # every inserted click is gone: nothing near it is far from the clean signal
    peak = np.abs(clean).max()
    for s in starts:
        assert np.abs(out[0, s : s + 5] - clean[0, s : s + 5]).max() < 0.15 * peak


def test_impulses_of_the_source_itself_are_not_clicks():
    """A click is added to the sound: the forward and the backward prediction error both
    stand out at its samples. The impulses of a source heard through a filter (a voice's
    excitation through the vocal tract; here heavy-tailed noise through three formants)
    raise the forward error as much but the backward one less, so the two-sided check
    takes far fewer of them for clicks, and still finds every click added on top."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)
    n = 4 * RATE
    excitation = rng.standard_t(4, n)
    clean = np.zeros(n)
    for formant, width in ((700, 130), (1200, 150), (2600, 250)):
        r = np.exp(-np.pi * width / RATE)
        clean += lfilter([1.0], [1, -2 * r * np.cos(2 * np.pi * formant / RATE), r * r], excitation)
    starts = np.sort(rng.choice(np.arange(1000, n - 1000, 101), 16, replace=False))
    aged = clean.copy()
    aged[starts] += 0.3 * np.abs(clean).max() * rng.choice([-1, 1], len(starts))

    def found(x, options):
        return [s for s, _ in find_clicks(x, RATE, options)]

    one_sided = ClickOptions(threshold=8.0, backward=0.0)  # the forward error alone
    two_sided = ClickOptions()
    assert len(found(clean, two_sided)) < 0.7 * len(found(clean, one_sided))
    hits = found(aged, two_sided)
    assert all(any(abs(s - t) <= 2 for s in hits) for t in starts)


def test_clean_real_speech_gives_fewer_clicks_and_aged_speech_no_fewer_found(media, age_sound_fn):
    """Real speech (the GRID clips: MPEG audio, some of it clipped; JFK): nobody added clicks
    to the clean recordings, so every detection there is speech repaired for nothing; aged
    at 20 dB with 3 clicks a second, the clicks found must not drop."""

    paths = [*sorted((media / "faces" / "grid").glob("*.mpg")), media / "speech" / "jfk.flac"]
    one_sided = ClickOptions(threshold=8.0, backward=0.0)
    false = {one_sided: 0, ClickOptions(): 0}
    hits = dict.fromkeys(false, 0)
    added = 0
    for path in paths:
        source = open_source(path)
        samples = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
        rate = source.audio[0].sample_rate
        aged, starts = age_sound_fn(samples, rate, snr_db=20, hum_hz=50, clicks_per_s=3)
        added += len(starts)
        for options in false:
            false[options] += len(
                find_clicks(samples.mean(axis=0).astype(np.float64), rate, options)
            )
            found = [s for s, _ in find_clicks(aged.mean(axis=0).astype(np.float64), rate, options)]
            hits[options] += sum(any(abs(s - t) < 10 for s in found) for t in starts)
    assert false[ClickOptions()] <= 0.6 * false[one_sided], false
    assert hits[ClickOptions()] >= hits[one_sided] >= 0.9 * added, (hits, added)


def test_clicks_streaming_equals_one_block(age_sound_fn):
    aged, _ = age_sound_fn(voice(4.0), RATE, snr_db=None, hum_hz=None, clicks_per_s=8)
    whole = run(Declick(), aged, block=aged.shape[1])
    streamed = run(Declick(), aged, block=12000)
    # the same clicks repaired the same way; the model fitted on a block's stretch and the
    # one fitted on the whole differ a little, so borderline samples may differ
    assert si_sdr(whole, streamed) > 40


# -- hiss ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["afftdn", "noisereduce"])
def test_hiss_is_reduced_from_a_profile_of_the_quiet_passages(engine, age_sound_fn):
    clean = voice(8.0)
    aged, _ = age_sound_fn(clean, RATE, snr_db=10, hum_hz=None)
    step = Dehiss(HissOptions(engine=engine))
    out = run(step, aged)
    # sample for sample against the clean signal: afftdn's delay is taken back out
    assert si_sdr(clean, out) > si_sdr(clean, aged) + 2  # the gentle default
    noise = aged - clean
    assert step.report()["noise_dbfs"] == pytest.approx(10 * np.log10(np.mean(noise**2)), abs=3)


@pytest.mark.parametrize("engine", ["afftdn", "noisereduce"])
def test_hiss_streaming_equals_one_block(engine, age_sound_fn):
    aged, _ = age_sound_fn(voice(4.0), RATE, snr_db=15, hum_hz=None)
    options = HissOptions(engine=engine)
    whole = run(Dehiss(options), aged, block=aged.shape[1])
    streamed = run(Dehiss(options), aged, block=12000)
    assert si_sdr(whole, streamed) > 40


# -- loudness -----------------------------------------------------------------------------------
def test_measure_agrees_with_pyloudnorm():
    import pyloudnorm

    stereo = np.concatenate([voice(6.0, seed=1), 0.5 * voice(6.0, seed=2)])
    lufs, _ = measure(stereo, RATE, "stereo")
    assert lufs == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(stereo.T), abs=0.2)


@pytest.mark.parametrize("level", [0.05, 1.0])
def test_loudness_lands_the_target_under_the_true_peak_ceiling(level):
    signal = voice(10.0) * (level / 0.2)
    step = Loudness()
    out = run(step, signal)
    lufs, peak = measure(out, RATE, "mono")
    assert lufs == pytest.approx(-23.0, abs=0.5)
    assert peak < -1.0
    report = step.report()
    assert report["after"]["lufs"] == pytest.approx(lufs, abs=0.05)
    assert (report["gain_db"] > 10) if level == 0.05 else (report["gain_db"] < -5)


def test_loudness_limits_peaks_that_the_gain_would_push_over_the_ceiling():
    signal = voice(10.0) * 1.5
    signal[0, RATE * 5 : RATE * 5 + 20] = 0.99  # one loud spike the speech's gain would clip
    step = Loudness()
    out = run(step, signal)
    assert step.report()["limited"] is True
    lufs, peak = measure(out, RATE, "mono")
    assert peak < -1.0
    assert lufs == pytest.approx(-23.0, abs=0.5)
    assert out.shape == signal.shape


# -- the chain ----------------------------------------------------------------------------------
def test_default_chain_and_none():
    assert RestoreOptions().sound == ("clicks", "hum", "denoise", "loudness")
    assert RestoreOptions.none().sound == () and RestoreOptions.none().picture == ()
    chain = sound_chain(RestoreOptions(sound=("loudness",), loudness=-16.0))
    assert chain.steps[0].options.target == -16.0


@pytest.mark.slow
def test_real_speech_aged_then_restored_is_closer_and_no_harder_to_transcribe(
    media, age_sound_fn, tmp_path
):
    """JFK (44.1 kHz stereo) aged with hiss at 20 dB, 50 Hz hum and clicks, then restored."""
    import soundfile as sf

    from speech.options import TranscribeOptions
    from speech.transcribe import transcribe_wav
    from speech.wer import wer

    source = open_source(media / "speech" / "jfk.flac")
    clean = np.concatenate([b.samples for b in iter_audio(source)], axis=1)
    rate = source.audio[0].sample_rate
    aged, _ = age_sound_fn(clean, rate, snr_db=20, hum_hz=50, clicks_per_s=3)
    chain = sound_chain(RestoreOptions(sound=("clicks", "hum", "denoise")))
    out = run(chain, aged, rate)
    assert si_sdr(clean, out) > si_sdr(clean, aged) + 3

    reference = (media / "speech" / "jfk.txt").read_text()
    options = TranscribeOptions(device="cpu")

    def error(samples):
        import av

        path = tmp_path / "x.wav"
        mono = samples.mean(axis=0)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        frame = av.AudioFrame.from_ndarray(mono[None, :].astype(np.float32), "fltp", "mono")
        frame.sample_rate = rate
        pcm = np.concatenate(
            [f.to_ndarray()[0] for f in [*resampler.resample(frame), *resampler.resample(None)]]
        )
        sf.write(path, pcm, 16000, subtype="FLOAT")
        result = transcribe_wav(path, options)
        return wer([reference], [" ".join(s.text for s in result.segments)])

    assert error(out) <= error(aged)


def test_clean_real_speech_is_rarely_taken_for_clicks(media):
    """Plosives and glottal pulses are speech: on clean recordings (JFK, LibriSpeech, the
    1968 dialogue) the detector fires rarely (the forward error alone fired 118 times a minute at
    threshold 6)."""
    paths = [
        media / "speech" / "jfk.flac",
        *sorted((media / "speech" / "librispeech").glob("*.wav")),
    ]
    paths += sorted((media / "speech" / "notld_1968").glob("*.wav"))[:3]
    step, seconds = Declick(), 0.0
    for path in paths:
        source = open_source(path)
        for _ in step.process(iter_audio(source)):
            pass
        seconds = step.seconds
    assert seconds > 60
    assert step.report()["clicks_per_minute"] < 40
