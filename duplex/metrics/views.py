"""Where a scored item's response is, read back from its result row and ``session.json``: the
user's turn as text, the time the response answers (the event) and the response's words.

The arena and the rubric judge responses; which turn and which event they answer is task
knowledge, so each task names its view (``Task.view``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ItemView:
    """The user's turn as text, the event time (seconds), the response's words."""

    turn: str
    event: float
    text: str


#: (result row, session.json) -> the item's view, or None when the row cannot be read that way
View = Callable[[dict[str, Any], dict[str, Any]], ItemView | None]


def turn_view(row: dict[str, Any], session: dict[str, Any]) -> ItemView | None:
    """The user's turn, answered after its end (pause, turn-taking, backchannel items)."""
    ann = session.get("annotations") or {}
    speech = ann.get("speech") or []
    if not speech:
        return None
    turn = " ".join(str(s.get("text", "")) for s in speech).strip()
    return ItemView(turn, float(ann.get("turn_end", speech[-1]["end"])), str(row.get("transcript")))
