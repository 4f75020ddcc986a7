"""Small run folders written by hand: a turn per item, and a spoken response (synthesised speech
placed 0.7 s after the turn end) or silence - what the arena and rubric read from real runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from duplex.audio import write_wav
from tests.speech.speechdata import RATE, place, say

TURN_END = 2.0


def make_run(
    folder: Path,
    model: str,
    items: dict[str, tuple[str, str | None]],
    *,
    suite: str = "turn_taking",
    version: str = "1.0",
    spec_hash: str = "h",
) -> Path:
    """``items``: id -> (the user's turn, the response's words or None for silence)."""
    folder.mkdir(parents=True)
    config = {
        "suite": suite,
        "suite_version": version,
        "task": "turn_taking",
        "task_version": "1",
        "model": model,
    }
    (folder / "run.json").write_text(json.dumps({"config": config}))
    rows = []
    for item_id, (turn, words) in items.items():
        s = folder / "sessions" / item_id
        s.mkdir(parents=True)
        out = (
            place([(TURN_END + 0.7, say(words))], 8.0) if words else np.zeros(8 * RATE, np.float32)
        )
        write_wav(s / "output.wav", out, RATE)
        ann = {"speech": [{"start": 0.5, "end": TURN_END, "text": turn}], "turn_end": TURN_END}
        (s / "session.json").write_text(json.dumps({"annotations": ann}))
        rows.append(
            {
                "item_id": item_id,
                "status": "ok",
                "spec_hash": spec_hash,
                "metrics": {"tor": int(bool(words))},
                "transcript": words or "",
            }
        )
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder
