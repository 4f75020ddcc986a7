"""Overlap behaviour labels: rules on hand-made transcripts, the API prompt and its parsing, and a
run folder labelled end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duplex.judges.overlap import (
    EmbeddedLabeler,
    LabelCase,
    TimedWord,
    continuity,
    parse_label,
    render_prompt,
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


SETTINGS = EmbeddedLabeler().settings
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


def test_stopping_for_good_is_uncertain_and_a_few_new_words_too() -> None:
    assert label(case(CLEAN[:7])) == "uncertain"
    assert label(case(CLEAN[:7] + words("sorry what", 5.0))) == "uncertain"
    # one word of the answer after the overlap (cut off at the stop) is not resuming it
    assert label(case(CLEAN[:8])) == "uncertain"


def test_unknown_when_nothing_was_said_or_nothing_overlapped() -> None:
    assert label(case(())) == "unknown"
    short = CLEAN[:5]  # the answer ends at 2.45 s, before the overlap at 3.0 s
    assert label(case(short, clean=short)) == "unknown"


def test_in_between_goes_to_the_lm() -> None:
    # half the words continue the answer, half are new: the rules leave it open
    mixed = "so most coasts see oh and yes about every twelve hours"
    over = CLEAN[:7] + words(mixed, 4.6)
    got, reason, features = rule_label(case(over), SETTINGS)
    assert got is None and 0.3 <= features["continuity"] <= 0.5, reason

    class FixedLm(EmbeddedLabeler):
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


def test_api_prompt_and_label_parsing() -> None:
    system, user = render_prompt(case(CLEAN[:7]))
    assert "respond" in system and "Label: X" in system
    assert "[1.00-1.25] the" in user and "from 3.00 s to 4.50 s" in user
    assert "How do tides work?" in user and "Wait, how often" in user
    assert parse_label("It stopped.\nLabel: respond") == ("respond", "")
    assert parse_label("Label: resume ... no wait\nLabel: **Uncertain**") == ("uncertain", "")
    assert parse_label("I think it resumed.")[0] is None
    assert parse_label("Label: maybe") == (
        None,
        "label 'maybe' is not one of respond, resume, uncertain, unknown",
    )


@pytest.mark.slow
def test_lm_margin_prefers_an_answer_to_the_overlap() -> None:
    lab = EmbeddedLabeler()
    c = case(CLEAN)
    on_topic = lab.lm_margin(c, "There are usually two high tides a day, about twelve hours apart.")
    off = lab.lm_margin(c, "The earth turns under the bulge of water that the moon pulls up.")
    assert on_topic > off


@pytest.mark.slow
def test_label_run_on_an_oracle_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from duplex.judges.overlap import label_run
    from duplex.runner import RunConfig, run_suite

    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path / "cache"))
    spec = "oracle:latency=0.6,length=14,stop=0.3,respond=0.6"
    folder = tmp_path / "run"
    run_suite(RunConfig(suite="overlap_interruption", model=spec, limit=2, out=folder))
    summary = label_run(folder)
    block = summary["overlap"]
    assert block["labels"]["respond"] == 1 and block["expected_rate"]["mean"] == 1.0
    assert block["judge"]["prompt_version"] == "overlap_rules_v1"
    line = json.loads((folder / "overlap_labels.jsonl").read_text().splitlines()[-1])
    assert line["item_id"] == "oi-001" and line["label"] == "respond"
    shift = block["prosody_shift"]["all"]["wpm_after"]
    assert shift["n"] == 1  # one pair: a difference, no test
