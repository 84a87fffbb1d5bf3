"""The guards against invented text, and the line splitter."""

from __future__ import annotations

from speech.lines import guard, split_lines
from speech.types import Segment, Word


def seg(text, start=0.0, step=0.3, gaps=None, **extra):
    words, t = [], start
    for i, w in enumerate(text.split()):
        t += (gaps or {}).get(i, 0.0)
        words.append(Word(round(t, 3), round(t + 0.25, 3), w, 0.9))
        t += step
    return Segment(words[0].start, words[-1].end, text, tuple(words), **extra)


def texts(segments):
    return [s.text for s in segments]


def test_split_at_sentence_ends_keeps_every_word_and_its_time():
    original = seg("Do you live here? No. I came from the cemetery.")
    lines = split_lines([original])
    assert texts(lines) == ["Do you live here?", "No.", "I came from the cemetery."]
    assert [w for line in lines for w in line.words] == list(original.words)
    assert all(
        line.start == line.words[0].start and line.end == line.words[-1].end for line in lines
    )


def test_abbreviations_and_initials_do_not_end_a_sentence():
    lines = split_lines([seg("Mr. Cooper and J. Smith went down to the cellar.")])
    assert texts(lines) == ["Mr. Cooper and J. Smith went down to the cellar."]


def test_a_pause_ends_a_line():
    lines = split_lines([seg("Wait here for me please", gaps={4: 1.2})], pause_s=0.8)
    assert texts(lines) == ["Wait here for me", "please"]


def test_no_line_is_longer_than_a_subtitle_can_carry():
    text = (
        "we boarded up the windows and the doors, and then we waited in the dark house "
        "for the sheriff and his men to come down the road from the town"
    )
    lines = split_lines([seg(text, step=0.2)], max_chars=84, max_s=7.0)
    assert " ".join(texts(lines)) == text
    assert all(len(t) <= 84 for t in texts(lines))
    assert all(line.end - line.start <= 7.0 for line in lines)
    assert lines[0].text.endswith("doors,")  # cut at the phrase end, not mid-phrase


def test_languages_without_spaces_are_joined_without_them():
    words = (Word(0.0, 0.3, "こんにちは", 0.9), Word(0.3, 0.6, "世界", 0.9))
    (line,) = split_lines([Segment(0.0, 0.6, "こんにちは世界", words)], language="ja")
    assert line.text == "こんにちは世界"


def test_guard_drops_loops_and_text_on_silence_but_keeps_real_repeats():
    real = [seg("No.", 0.0), seg("No.", 1.0)]  # a character can say it twice
    loop = [seg("Thank you.", t) for t in (5.0, 6.0, 7.0, 8.0)]
    looping_segment = seg("the the the the the the", 10.0, compression_ratio=3.1, avg_logprob=-1.4)
    on_silence = seg("Subtitles by the community", 20.0, no_speech_prob=0.9, avg_logprob=-1.2)
    kept, dropped = guard(real + loop + [looping_segment, on_silence])
    assert texts(kept) == ["No.", "No.", "Thank you.", "Thank you."]
    assert dropped == {"repetition": 3, "silence": 1}


def test_guard_drops_a_confident_phrase_loop_and_text_too_fast_to_be_said():
    said = seg("and I'll see you in the next video", 0.0)
    loop = seg(
        "Thanks, see you in the next video, see you in the next video, see you in the next video",
        5.0,
        avg_logprob=-0.2,
    )
    squashed = Segment(9.0, 9.2, "we waited in the dark house all night", said.words)
    twice = seg("bin blue at f two now, bin blue at f two now", 12.0)  # said twice: kept
    kept, dropped = guard([said, loop, squashed, twice])
    assert texts(kept) == [said.text, twice.text]
    assert dropped == {"repetition": 1, "too fast": 1}


def test_confident_speech_is_never_dropped():
    lively = seg("ha ha ha ha ha ha ha", compression_ratio=3.0, avg_logprob=-0.3)
    kept, dropped = guard([lively])
    assert kept == [lively] and dropped == {}


def test_clamp_drops_text_past_the_end_of_the_audio():
    from speech.lines import clamp

    inside, straddling, beyond = (
        seg("we are here", 1.0),
        seg("still talking", 10.6),
        seg("ghost", 29.8),
    )
    kept, dropped = clamp([inside, straddling, beyond], end=11.0)
    assert dropped == 1 and [s.text for s in kept] == ["we are here", "still talking"]
    assert kept[1].end == 11.0 and all(w.end <= 11.0 for w in kept[1].words)


def test_a_loop_marks_the_whole_gap_it_swallowed_for_a_second_decode():
    from speech.lines import lost_spans

    before, after = seg("We came by the road.", 1.0), seg("Then the lights went out.", 20.0)
    # the decoder stamps its loop anywhere in the stretch it consumed: here at 17 s
    loop = Segment(17.0, 17.2, "Prabababababababababababa", before.words)
    quiet = seg("Subtitles by the community", 25.0, no_speech_prob=0.9, avg_logprob=-1.2)
    spans = lost_spans([before, loop, after, quiet], start=0.0, end=30.0)
    assert spans == [(before.end, after.start)]
    assert lost_spans([before, after, quiet], 0.0, 30.0) == []  # text on silence: nothing lost
    # a loop at the window's start runs from the start; one at its end to the end
    first = Segment(4.0, 4.1, "one two three one two three one two three", before.words)
    assert lost_spans([first, after], 0.0, 30.0) == [(0.0, after.start)]
    assert lost_spans([before, loop], 0.0, 30.0) == [(before.end, 30.0)]
