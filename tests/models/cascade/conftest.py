"""One loaded cascade for every test here (loading takes 20-50 s), and items built from TTS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from duplex.annotations import Annotations
from duplex.models.cascade import CascadeModel, CascadeSession, make_cascade
from duplex.models.registry import parse_spec
from duplex.scenarios.base import ScenarioItem
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import RATE, place, say


@pytest.fixture(scope="session")
def cascade() -> Iterator[CascadeModel]:
    model = make_cascade(parse_spec("cascade"))
    model.spec = "cascade"
    yield model
    model.close()


def open_sessions(model: CascadeModel) -> list[CascadeSession]:
    """Wrap ``model.open`` so the sessions it opens are kept (for their logs)."""
    sessions: list[CascadeSession] = []
    original = type(model).open

    def opener(info):  # type: ignore[no-untyped-def]
        session = original(model, info)
        sessions.append(session)
        return session

    model.open = opener  # type: ignore[method-assign]
    return sessions


def item(
    texts: list[tuple[float, str]], tail: float, pauses: tuple[Span, ...] = ()
) -> ScenarioItem:
    """User clips (start second, text) on a silent track ending ``tail`` s after the last one."""
    clips = [(t, say(text)) for t, text in texts]
    end = max(t + c.size / RATE for t, c in clips)
    speech = tuple(
        SpeechSpan(t, t + c.size / RATE, text)
        for (t, c), (_, text) in zip(clips, texts, strict=True)
    )
    audio = place(clips, end + tail)
    ann = Annotations(speech=speech, pauses=pauses)
    return ScenarioItem("cascade-test", "1", "item", audio, RATE, ann, "h")
