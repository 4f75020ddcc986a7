"""The run folder: append-only results, resumable after a crash or Ctrl-C.

```
RUN/
  run.json          configuration and provenance (written once, checked on --resume)
  results.jsonl     one line per finished item, appended and flushed as items finish
  summary.json      aggregates with bootstrap intervals (rewritten after every run, even partial)
  sessions/ITEM/    input.wav output.wav session.wav session.json
```
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from duplex.errors import ResultsError

#: Fields of run.json that must match for --resume to continue a run: anything else would mix
#: results measured under different conditions in one table.
IDENTITY_FIELDS = ("suite", "suite_version", "model", "clock", "vad", "asr", "frame_ms", "seed")


class RunStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.results_path = folder / "results.jsonl"

    def session_dir(self, item_id: str) -> Path:
        return self.folder / "sessions" / item_id

    def open(self, config: dict[str, Any], *, resume: bool) -> dict[str, dict[str, Any]]:
        """Create or reopen the run; returns results already recorded, keyed by item id."""
        run_json = self.folder / "run.json"
        if run_json.exists():
            if not resume:
                raise ResultsError(
                    f"{self.folder}: a run is already there; pass --resume to finish it "
                    "or choose another --out"
                )
            previous = self._read_json(run_json)
            for key in IDENTITY_FIELDS:
                if previous.get("config", {}).get(key) != config["config"].get(key):
                    was, now = previous.get("config", {}).get(key), config["config"].get(key)
                    raise ResultsError(f"{run_json}: cannot resume, {key} was {was!r}, now {now!r}")
            return self.read_results()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_json(run_json, config)
        return {}

    def read_results(self) -> dict[str, dict[str, Any]]:
        """Latest line per item. A torn last line (crash mid-write) is ignored, not fatal."""
        out: dict[str, dict[str, Any]] = {}
        if not self.results_path.exists():
            return out
        lines = self.results_path.read_text().splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                if i == len(lines) - 1:
                    continue
                raise ResultsError(
                    f"{self.results_path}: line {i + 1} is not JSON ({exc})"
                ) from exc
            out[row["item_id"]] = row
        return out

    def append(self, row: dict[str, Any]) -> None:
        with self.results_path.open("a") as f:
            f.write(json.dumps(row, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write_summary(self, summary: dict[str, Any]) -> None:
        self._write_json(self.folder / "summary.json", summary)

    def _read_json(self, path: Path) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultsError(f"{path}: unreadable ({exc})") from exc
        return data

    @staticmethod
    def _write_json(path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str))
        tmp.replace(path)
