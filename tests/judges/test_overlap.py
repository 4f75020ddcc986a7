"""The embedded overlap behaviour labeller: rules on hand-made transcripts, the LM tie-break."""

from __future__ import annotations

import pytest

from duplex.judges.overlap import (
    EmbeddedLabeller,
    LabelCase,
    TimedWord,
    continuity,
    phrase_text,
    rule_label,
)

ANSWER = (
    "the tides come from the pull of the moon on the oceans and the earth turns under the "
    "bulge of water so most coasts see two high tides every day"
)


def words(text: str, start: float, step: float = 0.3) -> tuple[TimedWord, ...]:
    return tuple(
        TimedWord(start + i * step, start + i * step + 0.25, w) for i, w in enumerate(text.split())
    )


def case(
    overlapped: tuple[TimedWord, ...], clean: tuple[TimedWord, ...] | None = None
) -> LabelCase:
    return LabelCase(
        item_id="x",
        context="How do tides work?",
        overlap="Wait, how often are there high tides?",
        talker="user",
        start=3.0,
        end=4.5,
        clean=words(ANSWER, 1.0) if clean is None else clean,
        overlapped=overlapped,
    )


SETTINGS = EmbeddedLabeller().settings
CLEAN = words(ANSWER, 1.0)  # 1.0 .. 8.8 s; the overlap starts at 3.0 s (word 6)


def label(c: LabelCase) -> str | None:
    return rule_label(c, SETTINGS)[0]


def test_talking_through_resumes() -> None:
    assert label(case(CLEAN)) == "resume"


def test_pausing_then_going_on_resumes() -> None:
    # stops at 3.3 s (word 7), goes on with word 8 at 4.5 s
    over = CLEAN[:8] + tuple(TimedWord(w.start + 1.2, w.end + 1.2, w.text) for w in CLEAN[8:])
    assert label(case(over)) == "resume"


def test_new_words_after_stopping_respond() -> None:
    answer = "oh sorry go ahead yes usually twice a day about every twelve hours"
    over = CLEAN[:7] + words(answer, 5.1)
    got, reason, features = rule_label(case(over), SETTINGS)
    assert got == "respond" and features["continuity"] < 0.3, reason


def test_stopping_for_good_or_a_cut_off_word_is_unknown() -> None:
    # the anchor's instruction: no model speech after the overlap is C_UNKNOWN
    assert label(case(CLEAN[:7])) == "unknown"
    # one word of the answer after the overlap (cut off at the stop) is not resuming it
    assert label(case(CLEAN[:8])) == "unknown"
    assert label(case(CLEAN[:7] + words("um well", 5.0))) == "unknown"


def test_asking_to_hear_it_again_is_uncertain() -> None:
    assert label(case(CLEAN[:7] + words("sorry?", 5.0))) == "uncertain"
    ask = "sorry I didn't catch that could you say that again please"
    got, reason, _ = rule_label(case(CLEAN[:7] + words(ask, 5.0)), SETTINGS)
    assert got == "uncertain" and "didn't catch" in reason
    # "sorry" opening an answer is not a request to repeat
    answer = "oh sorry go ahead yes usually twice a day about every twelve hours"
    assert label(case(CLEAN[:7] + words(answer, 5.1))) == "respond"
    # nor is a phrase inside the answer going on
    assert phrase_text(words("Sorry?  Pardon, what?", 0.0)) == " sorry ? pardon what ? "


def test_talking_through_a_phrase_like_it_still_resumes() -> None:
    clean = words("and the tide comes in and if you didn't catch it you wait " + ANSWER, 1.0)
    c = case(clean, clean=clean)
    assert phrase_text([w for w in clean if w.start >= 3.3]).startswith(" didn't catch")
    assert label(c) == "resume"


def test_unknown_when_nothing_was_said_or_nothing_overlapped() -> None:
    assert label(case(())) == "unknown"  # silent
    short = CLEAN[:5]  # the answer ends at 2.45 s, before the overlap at 3.0 s
    assert label(case(short, clean=short)) == "unknown"


def test_in_between_goes_to_the_lm() -> None:
    # half the words continue the answer, half are new: the rules leave it open
    mixed = "so most coasts see oh and yes about every twelve hours"
    over = CLEAN[:7] + words(mixed, 4.6)
    got, reason, features = rule_label(case(over), SETTINGS)
    assert got is None and 0.3 <= features["continuity"] <= 0.5, reason

    class FixedLm(EmbeddedLabeller):
        def __init__(self, margin: float) -> None:
            super().__init__()
            self.margin = margin

        def lm_margin(self, case: LabelCase, post: str) -> float:
            assert post.startswith("so most coasts")
            return self.margin

    assert FixedLm(0.4).label(case(over)).label == "respond"
    v = FixedLm(-0.2).label(case(over))
    assert v.label == "resume" and v.features["lm_margin"] == -0.2 and "LM gain" in v.reason


def test_continuity_is_order_aware() -> None:
    assert continuity(["a", "b", "c"], ["x", "a", "b", "c", "y"]) == 1.0
    assert continuity(["c", "b", "a"], ["a", "b", "c"]) == pytest.approx(1 / 3)
    assert continuity([], ["a"]) == 0.0


@pytest.mark.slow
def test_lm_margin_prefers_an_answer_to_the_overlap() -> None:
    lab = EmbeddedLabeller()
    c = case(CLEAN)
    on_topic = lab.lm_margin(c, "There are usually two high tides a day, about twelve hours apart.")
    off = lab.lm_margin(c, "The earth turns under the bulge of water that the moon pulls up.")
    assert on_topic > off
