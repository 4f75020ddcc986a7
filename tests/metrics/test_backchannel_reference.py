"""The backchannel task's reference: where a listener would backchannel (docs/DESIGN.md)."""

from __future__ import annotations

import itertools

import pytest

from duplex.annotations import Annotations
from duplex.metrics.backchannel_reference import backchannel_reference, backchannel_weight, boundary
from duplex.metrics.tasks import TASKS
from duplex.scenarios import Suite, load_suite
from duplex.timeline import Span, SpeechSpan
from tests.scenarios.test_render import check_layout

# --- backchannel reference: the documented construction (docs/DESIGN.md) ---


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("and it rained.", "sentence"),
        ("did it really?!", "sentence"),
        ('and she said "go."', "sentence"),
        ("so I went,", "clause"),
        ("three things:", "clause"),
        ("and then...", "clause"),
        ("and then", "none"),
    ],
)
def test_boundary_kinds(text: str, kind: str) -> None:
    assert boundary(text) == kind


@pytest.mark.parametrize(
    ("pause", "kind", "weight"),
    [
        (0.19, "sentence", 0.0),
        (0.2, "sentence", 0.5),
        (0.5, "sentence", 0.75),
        (0.8, "sentence", 1.0),
        (1.5, "sentence", 1.0),
        (0.2, "clause", 0.3),
        (0.8, "clause", 0.6),
        (0.5, "none", 0.225),
    ],
)
def test_backchannel_weights(pause: float, kind: str, weight: float) -> None:
    assert backchannel_weight(pause, kind) == pytest.approx(weight, abs=1e-6)


def test_reference_points_sit_at_pause_starts() -> None:
    speech = (
        SpeechSpan(0.5, 2.0, "I went out,"),
        SpeechSpan(2.2, 3.0, "and it rained."),
        SpeechSpan(3.8, 5.0, "So I left,"),
        SpeechSpan(5.15, 6.0, "again."),
        SpeechSpan(7.2, 8.0, "and um"),
        SpeechSpan(8.5, 9.0, "the end."),
    )
    pauses = tuple(Span(a.end, b.start) for a, b in itertools.pairwise(speech))
    points = backchannel_reference(Annotations(speech, pauses))
    # 0.2 s after a clause; 0.8 s after a sentence; (0.15 s: none); 1.2 s after a sentence;
    # 0.5 s after no boundary. The turn end (9.0) is not a point.
    assert [p.t for p in points] == [2.0, 3.0, 6.0, 8.0]
    assert [p.weight for p in points] == pytest.approx([0.3, 1.0, 1.0, 0.225], abs=1e-6)


def shortest(suite: Suite) -> str:
    return min(suite.spec.items, key=lambda i: sum(len(t) for t in i.texts) * i.rate).id


def test_backchannel_item_renders_with_its_reference() -> None:
    suite = load_suite("backchannel")
    spec = suite.item(shortest(suite))
    item = suite.render(spec.id)
    a = TASKS.get("backchannel").prepared(item.annotations)
    check_layout(item, spec.pauses, lead_in=0.5, tail=2.0)
    assert 20.0 <= a.turn_end - a.turn_start <= 35.0
    want = [
        (gap.start, backchannel_weight(seconds, boundary(text)))
        for gap, seconds, text in zip(a.pauses, spec.pauses, spec.texts, strict=False)
        if seconds >= 0.2
    ]
    got = [(p.t, p.weight) for p in a.backchannel_points]
    assert got == want and len(got) >= 6
    assert a.interrupt is None and not a.cues and item.cues == ()
