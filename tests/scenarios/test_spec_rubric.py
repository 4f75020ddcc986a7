"""The optional per-item ``rubric:`` field of suite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from duplex.errors import ScenarioError
from duplex.scenarios import load_spec, load_suite
from duplex.scenarios.spec import Rubric
from tests.scenarios.test_spec import GOOD, write

RUBRIC = (
    "    rubric:\n"
    "      semantic: Says hello back.\n"
    "      paralinguistic: Answers within a second.\n"
    "      keywords: [hello, hi]\n"
)


def test_rubric_parses_and_stays_out_of_the_cache_key(tmp_path: Path) -> None:
    plain = load_spec(write(tmp_path, GOOD, "mini.yaml"))
    spec = load_spec(write(tmp_path, GOOD + RUBRIC, "mini.yaml"))
    a2 = spec.items[1]
    assert a2.rubric == Rubric(
        (("semantic", "Says hello back."), ("paralinguistic", "Answers within a second.")),
        ("hello", "hi"),
    )
    assert spec.items[0].rubric == Rubric()
    # A rubric changes no audio: the rendered item (and its cache entry) stays the same.
    assert a2.to_json() == plain.items[1].to_json()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    rubric: good\n", "bad.yaml: item 'a-2': rubric: expected a mapping, got 'good'"),
        (
            "    rubric: {semantic: ok, tone: calm}\n",
            "bad.yaml: item 'a-2': rubric.tone: unknown field (allowed: ambient, keywords, "
            "paralinguistic, semantic)",
        ),
        (
            "    rubric: {keywords: [a]}\n",
            "bad.yaml: item 'a-2': rubric: expected at least one of semantic, paralinguistic, "
            "ambient",
        ),
        (
            "    rubric: {semantic: ok, keywords: a}\n",
            "bad.yaml: item 'a-2': rubric.keywords: expected a list of words, got 'a'",
        ),
        (
            "    rubric: {semantic: '  '}\n",
            "bad.yaml: item 'a-2': rubric.semantic: expected a non-empty string, got '  '",
        ),
    ],
)
def test_bad_rubric_names_file_item_and_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_spec(write(tmp_path, GOOD + extra))
    assert str(err.value) == message


def test_bundled_turn_taking_items_carry_rubrics() -> None:
    items = load_suite("turn_taking").spec.items
    with_rubric = [i for i in items if i.rubric.criteria]
    assert len(with_rubric) >= 6
    for item in with_rubric:
        assert dict(item.rubric.criteria).get("semantic")
        assert item.rubric.keywords
