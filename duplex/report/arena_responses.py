"""A run's responses, read back from its folder for the arena and the rubric.

How the turn, the event and the words are found depends on the task (its ``Task.view``); what
is measured on the response is :func:`duplex.arena.responses.measure`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from duplex.arena.responses import Response, measure
from duplex.audio import read_wav
from duplex.errors import AudioError, ResultsError
from duplex.metrics.tasks import TASKS
from duplex.report.rundata import RunData


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
    task = TASKS.get(run.task)
    if task.view is None:
        raise ResultsError(f"{where}: the arena cannot judge task {task.name!r} (it has no view)")
    view = task.view(row, session)
    if view is None:
        raise ResultsError(f"{where}: no user turn or event time for task {run.task!r}")
    return ItemResponse(
        item_id, row.get("spec_hash"), view.turn, measure(model, rate, view.event, view.text)
    )
