"""A run's responses, read back from its folder for the arena and the rubric.

How the turn, the event and the words are found depends on the task (:data:`VIEWS`); what is
measured on the response is :func:`duplex.arena.responses.measure`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from duplex.arena.responses import Response, measure
from duplex.audio import read_wav
from duplex.errors import AudioError, ResultsError
from duplex.registry import Registry
from duplex.report.rundata import RunData, number


@dataclass(frozen=True)
class ItemView:
    """Where the response to an item is: the user's turn as text, the event time, the words."""

    turn: str
    event: float
    text: str


#: (result row, session.json) -> the item's view, or None when the row cannot be read that way
View = Callable[[dict[str, Any], dict[str, Any]], ItemView | None]
VIEWS: Registry[View] = Registry("arena task view")


def _turn_view(row: dict[str, Any], session: dict[str, Any]) -> ItemView | None:
    ann = session.get("annotations") or {}
    speech = ann.get("speech") or []
    if not speech:
        return None
    turn = " ".join(str(s.get("text", "")) for s in speech).strip()
    return ItemView(turn, float(ann.get("turn_end", speech[-1]["end"])), str(row.get("transcript")))


def _interruption_view(row: dict[str, Any], session: dict[str, Any]) -> ItemView | None:
    details, metrics = row.get("details") or {}, row.get("metrics") or {}
    end = number(metrics.get("interrupt_end_s"))
    if end is None or not details.get("context") or not details.get("interrupt_text"):
        return None
    turn = f"{details['context']}\n(the user cuts in) {details['interrupt_text']}"
    return ItemView(turn, end, str(details.get("response_transcript") or ""))


for _task in ("turn_taking", "pause_handling", "backchannel"):
    VIEWS.add(_task, _turn_view, "the user's turn, answered after its end")
VIEWS.add("user_interruption", _interruption_view, "the interruption, answered after it ends")


@dataclass(frozen=True)
class ItemResponse:
    """One item of one run, ready to be judged."""

    item_id: str
    spec_hash: str | None
    turn: str
    response: Response


def read_item(run: RunData, item_id: str) -> ItemResponse:
    """The turn and the measured response of one scored item (:class:`ResultsError` if the
    session folder or the row lacks what the task's view needs)."""
    row = run.rows[item_id]
    folder = run.folder / "sessions" / item_id
    where = f"{run.folder}: item {item_id!r}"
    try:
        session = json.loads((folder / "session.json").read_text())
        model, rate = read_wav(folder / "output.wav")
    except (OSError, json.JSONDecodeError, AudioError) as exc:
        raise ResultsError(f"{where}: session folder unreadable ({exc})") from exc
    view = VIEWS.get(run.task)(row, session)
    if view is None:
        raise ResultsError(f"{where}: no user turn or event time for task {run.task!r}")
    return ItemResponse(
        item_id, row.get("spec_hash"), view.turn, measure(model, rate, view.event, view.text)
    )
