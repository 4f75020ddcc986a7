"""One finished run as read back from disk, whatever produced it (a suite run, a live session,
a probe run): what ``compare`` and ``report`` work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duplex.metrics.stats import number
from duplex.provenance import step_in

Direction = str  # "lower" | "higher"


@dataclass
class RunData:
    """One run, as read back from disk."""

    folder: Path
    run_doc: dict[str, Any]
    summary: dict[str, Any]
    #: item id -> result row (every status), in file order
    rows: dict[str, dict[str, Any]]
    #: (metric key, label, direction) of the task's headline figures
    headline: list[tuple[str, str, Direction]] = field(default_factory=list)
    #: "suite" (sessions, per-item timelines) or another loader's kind, e.g. "probe"
    kind: str = "suite"
    #: run_doc paths (prefixes) that must agree for two runs to be compared; None: the defaults
    #: of :mod:`duplex.report.compare`
    identity: tuple[str, ...] | None = None
    #: run_doc paths whose differences are shown but allowed
    noted: tuple[str, ...] | None = None
    #: metric key -> direction, for every figure the run's task (or loader) knows
    known_directions: dict[str, Direction] = field(default_factory=dict)
    #: metric-key patterns (fnmatch) -> direction, for metrics a loader knows by pattern
    pattern_directions: dict[str, Direction] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = self.run_doc.get("config", {})
        return cfg

    @property
    def task(self) -> str:
        return str(self.config.get("task") or self.summary.get("task") or self.suite)

    @property
    def suite(self) -> str:
        return str(self.config.get("suite") or self.summary.get("suite") or self.folder.name)

    @property
    def model(self) -> str:
        return str(self.config.get("model") or self.summary.get("model") or "?")

    def ok_rows(self) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.rows.items() if r.get("status") == "ok"}

    def values(self, key: str) -> dict[str, float]:
        """Item id -> the metric's number, for scored items where it is defined."""
        out: dict[str, float] = {}
        for item_id, row in self.ok_rows().items():
            v = number(row.get("metrics", {}).get(key))
            if v is not None:
                out[item_id] = v
        return out

    def metric_keys(self) -> list[str]:
        keys = {
            k
            for r in self.ok_rows().values()
            for k, v in r.get("metrics", {}).items()
            if number(v) is not None
        }
        return sorted(keys)

    def step(self) -> int | None:
        """The training step this run measured, if it says: run.json ``step`` (top level or in
        the config), a ``step`` model parameter, else a step in the model spec or folder name."""
        params = self.run_doc.get("model", {}).get("params", {})
        for v in (self.run_doc.get("step"), self.config.get("step"), params.get("step")):
            if isinstance(v, int | float) and not isinstance(v, bool):
                return int(v)
        for text in (self.model, self.folder.name):
            step = step_in(text)
            if step is not None:
                return step
        return None
