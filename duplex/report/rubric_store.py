"""Rubric scores stored beside a run (``RUN/rubric.json``), read back into a loaded run.

Light on purpose: :mod:`duplex.report.runs` calls :func:`merge_rubric` on every run it loads, so
this module imports nothing beyond the run types (no speech or judge code).
"""

from __future__ import annotations

import json

from duplex.errors import ResultsError
from duplex.report.rundata import RunData

FILE = "rubric.json"
FORMAT = "duplex-bench-rubric"
VERSION = 1
KEYS = ("rubric_content", "rubric_delivery", "rubric_item", "rubric_overall")
DIRECTIONS = {"rubric_*": "higher"}


def merge_rubric(run: RunData) -> None:
    """Add ``RUN/rubric.json`` (when present) to a loaded run, as metrics (module doc)."""
    path = run.folder / FILE
    if not path.is_file():
        return
    try:
        doc = json.loads(path.read_text())
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ResultsError(f"not rubric scores of version {VERSION}")
        items = doc["items"]
        summary = doc["summary"]
        judge = doc["judge"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ResultsError) as exc:
        raise ResultsError(f"{path}: unreadable rubric scores ({exc})") from exc
    for item_id, entry in items.items():
        row = run.rows.get(item_id)
        if row is not None and row.get("status") == "ok":
            row["metrics"] = {**(row.get("metrics") or {}), **entry["metrics"]}
    run.summary.setdefault("metrics", {}).update(summary)
    run.pattern_directions.update(DIRECTIONS)
    run.run_doc["rubric"] = {
        "rubric": doc.get("rubric"),
        "judge": {k: judge.get(k) for k in ("name", "model", "prompt_version", "prompt_sha256")},
    }
