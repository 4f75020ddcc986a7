from __future__ import annotations

import numpy as np

from duplex.models.cascade.speech_out import Playout, Segmenter, clean


def test_first_piece_is_cut_at_a_comma_after_a_few_words_then_whole_sentences() -> None:
    seg = Segmenter()
    out: list[str] = []
    text = "That sounds lovely, I think. Where are you going, and when? Bye"
    for token in text.split(" "):
        out += seg.push(token + " ")
    out += seg.flush()
    assert out == ["That sounds lovely,", "I think.", "Where are you going, and when?", "Bye"]


def test_short_opening_clause_is_not_cut() -> None:
    seg = Segmenter()
    assert seg.push("Well, that is fine. ") == ["Well, that is fine."]


def test_clean_drops_markup_and_emoji() -> None:
    assert clean("**Sure!** \U0001f600 Here  it is") == "Sure! Here it is"


def test_playout_emits_frames_and_tracks_what_was_heard() -> None:
    p = Playout(frame=4, rate=100)
    p.add(np.ones(6, np.float32), "one two three")
    first = p.next_frame()
    assert first.tolist() == [1, 1, 1, 1]
    p.clear()
    assert not p.active
    assert p.spoken_text == ["one two -"]
