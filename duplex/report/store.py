"""The run folder: append-only results, resumable after a crash or Ctrl-C.

```
RUN/
  run.json          configuration and provenance (written once, checked on --resume)
  results.jsonl     one line per finished item, appended and flushed as items finish
  summary.json      aggregates with bootstrap intervals (rewritten after every run, even partial)
  sessions/ITEM/    input.wav output.wav session.wav session.json
```
The documents are typed (:mod:`duplex.report.documents`); the store writes only those types and
reads any format it knows, upgraded to the current one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from duplex.errors import ResultsError
from duplex.report.documents import (
    ResultRow,
    RunDoc,
    Summary,
    to_json,
    upgrade_row,
    upgrade_run_doc,
    upgrade_summary,
)
from duplex.writing import append_line, ensure_folder, sweep_temporaries, write_json

_log = logging.getLogger(__name__)

#: Fields of run.json that must match for --resume to continue a run: anything else would mix
#: results measured under different conditions in one table.
IDENTITY_FIELDS = (
    "suite",
    "suite_version",
    "model",
    "clock",
    "compute",
    "vad",
    "asr",
    "frame_ms",
    "seed",
)


class RunStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.results_path = self.folder / "results.jsonl"
        self.run_path = self.folder / "run.json"
        self.summary_path = self.folder / "summary.json"

    def session_dir(self, item_id: str) -> Path:
        return self.folder / "sessions" / item_id

    def open(self, run_doc: RunDoc, *, resume: bool) -> dict[str, ResultRow]:
        """Create or reopen the run; returns results already recorded, keyed by item id."""
        if self.run_path.exists():
            if not resume:
                raise ResultsError(
                    f"{self.folder}: a run is already there; pass --resume to finish it "
                    "or choose another --out"
                )
            previous = self.read_run_doc().config
            for key in IDENTITY_FIELDS:
                was, now = getattr(previous, key), getattr(run_doc.config, key)
                if was != now:
                    raise ResultsError(
                        f"{self.run_path}: cannot resume, {key} was {was!r}, now {now!r}"
                    )
            sweep_temporaries(self.folder)  # what a kill mid-write left behind
            return self.read_results()
        ensure_folder(self.folder, "the run folder")
        self.write_json(self.run_path, to_json(run_doc))
        return {}

    def read_run_doc(self) -> RunDoc:
        return upgrade_run_doc(self.read_json(self.run_path), str(self.run_path))

    def read_summary(self) -> Summary | None:
        if not self.summary_path.is_file():
            return None
        return upgrade_summary(self.read_json(self.summary_path), str(self.summary_path))

    def read_results(self) -> dict[str, ResultRow]:
        """Latest line per item. A torn last line (crash mid-write) is ignored, not fatal."""
        out: dict[str, ResultRow] = {}
        if not self.results_path.exists():
            return out
        lines = self.results_path.read_text().splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                if i == len(lines) - 1:
                    continue
                raise ResultsError(
                    f"{self.results_path}: line {i + 1} is not JSON ({exc})"
                ) from exc
            row = upgrade_row(doc, f"{self.results_path}: line {i + 1}")
            out[row.item_id] = row
        return out

    def append(self, row: ResultRow) -> None:
        """One line, flushed and fsynced; a torn last line (a crash or a full disk mid-write)
        is cut first, and said so, so the new line never lands glued to a fragment."""
        cut = append_line(self.results_path, json.dumps(to_json(row), default=str))
        if cut:
            _log.warning(
                "%s: cut a torn last line (%d bytes, a write that never finished)",
                self.results_path,
                cut,
            )

    def write_summary(self, summary: Summary) -> None:
        self.write_json(self.summary_path, to_json(summary))

    def read_json(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultsError(f"{path}: unreadable ({exc})") from exc
        if not isinstance(data, dict):
            raise ResultsError(f"{path}: expected a JSON object")
        return data

    @staticmethod
    def write_json(path: Path, data: dict[str, Any]) -> None:
        write_json(path, data, what=path.name)
