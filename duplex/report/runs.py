"""Finished run folders, read back for comparison and reports.

A run folder is what :mod:`duplex.report.store` writes: ``run.json``, ``results.jsonl``,
``summary.json`` and ``sessions/``. :func:`load_run` reads one into a :class:`RunData`;
:func:`expand_runs` also accepts a parent folder of runs (``run --scenario all`` writes
``OUT/<suite>``).

Extension point for other kinds of results (e.g. probe results, which are not session runs): add a
loader to :data:`LOADERS` - a function ``folder -> RunData | None`` that returns None for folders
that are not its kind. Anything it returns is compared and reported like a suite run, as long as
it fills ``items`` (per-item numbers, needed for paired statistics) and ``summary`` (means with
intervals, for the leaderboard). Results that later commands store beside a run (rubric scores)
are added by :data:`EXTENSIONS`, functions ``RunData -> None`` applied to every loaded run.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duplex.errors import DuplexError, ResultsError
from duplex.report.store import RunStore

Direction = str  # "lower" | "higher"

#: Directions of metrics that are not a task's headline, by (task, metric). Metrics found in
#: neither place are compared without a verdict (their change is shown, not judged).
KNOWN_DIRECTIONS: dict[tuple[str, str], Direction] = {
    ("pause_handling", "pauses_taken_frac"): "lower",
    ("pause_handling", "talks_in_pause_s"): "lower",
    ("backchannel", "tor"): "lower",
    ("backchannel", "anchor_tor_last_segment"): "lower",
    ("backchannel", "jsd_fdb"): "lower",
    ("backchannel", "js_divergence"): "lower",
    ("turn_taking", "talking_at_turn_end"): "lower",
    ("user_interruption", "judge_score"): "higher",
    ("user_interruption", "judge_score_strict"): "higher",
    ("user_interruption", "stop_latency_s"): "lower",
}

#: A step number in a model spec or folder name: "step=2000", "ckpt-2000", "checkpoint_2000"...
STEP_RE = re.compile(r"(?:step|ckpt|checkpoint|iter)[-_=:]?(\d+)", re.IGNORECASE)


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
    #: metric-key patterns (fnmatch) -> direction, for metrics a loader knows
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
            m = STEP_RE.search(text)
            if m:
                return int(m.group(1))
        return None


def number(v: Any) -> float | None:
    """A metric value as a float; None for missing, NaN, strings and other non-numbers."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float) and not math.isnan(v):
        return float(v)
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return data


def _task_headline(task: str) -> list[tuple[str, str, Direction]]:
    # Lazy: the task module is only needed when an old summary lacks its headline.
    from duplex.metrics.tasks import TASKS

    try:
        return [tuple(h) for h in TASKS.get(task).headline]  # type: ignore[misc]
    except (DuplexError, ImportError):
        return []


def load_suite_run(folder: Path) -> RunData | None:
    """The loader for suite runs written by :func:`duplex.runner.run_suite`."""
    run_json = folder / "run.json"
    if not run_json.is_file():
        return None
    run_doc = _read_json(run_json)
    summary_path = folder / "summary.json"
    summary = _read_json(summary_path) if summary_path.is_file() else {}
    rows = RunStore(folder).read_results()
    run = RunData(folder, run_doc, summary, rows)
    if summary.get("headline"):
        run.headline = [(h["key"], h["label"], h["better"]) for h in summary["headline"]]
    else:
        run.headline = _task_headline(run.task)
    if not summary.get("metrics"):
        from duplex.metrics.stats import summarize

        summary["metrics"] = summarize(
            [r["metrics"] for r in run.ok_rows().values()], run.metric_keys()
        )
    return run


def _load_probe_run(folder: Path) -> RunData | None:
    from duplex.report.probes import load_probe_run

    return load_probe_run(folder)


def _merge_rubric(run: RunData) -> None:
    from duplex.arena.stored import merge_rubric

    merge_rubric(run)


#: Results stored beside a run by later commands (``rubric.json`` from ``duplex-bench rubric``),
#: added to every loaded run as per-item metrics and summary figures.
Extension = Callable[[RunData], None]
EXTENSIONS: list[Extension] = [_merge_rubric]

#: Files that make a folder a run folder (for :func:`expand_runs`).
MARKERS = ("run.json", "probe.json")
Loader = Callable[[Path], RunData | None]
#: Tried in order; the first that recognises a folder reads it.
LOADERS: list[Loader] = [load_suite_run, _load_probe_run]


def load_run(folder: Path | str) -> RunData:
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such run folder")
    for loader in LOADERS:
        run = loader(folder)
        if run is not None:
            for extend in EXTENSIONS:
                extend(run)
            return run
    raise ResultsError(f"{folder}: not a run folder (no {' or '.join(MARKERS)})")


def expand_runs(paths: Iterable[Path | str]) -> list[RunData]:
    """Run folders, or parents whose direct subfolders are runs (``run --scenario all``)."""
    runs: list[RunData] = []
    for p in map(Path, paths):
        if p.is_dir() and not any((p / m).is_file() for m in MARKERS):
            children = sorted(c for c in p.iterdir() if any((c / m).is_file() for m in MARKERS))
            if children:
                runs.extend(load_run(c) for c in children)
                continue
        runs.append(load_run(p))
    return runs


def directions(run: RunData, overrides: dict[str, Direction] | None = None) -> dict[str, Direction]:
    """Metric -> "lower"/"higher" for this run's task: explicit overrides, then the task's
    headline, then :data:`KNOWN_DIRECTIONS`."""
    out = {m: d for (t, m), d in KNOWN_DIRECTIONS.items() if t == run.task}
    if run.pattern_directions:
        for key in run.metric_keys():
            for pattern, d in run.pattern_directions.items():
                if fnmatch.fnmatchcase(key, pattern):
                    out[key] = d
    out.update({k: d for k, _label, d in run.headline})
    out.update(overrides or {})
    return out


def text_leaderboard(runs: list[RunData], labels: dict[Path, str]) -> str:
    """The terminal form of ``report``: the suite leaderboard, then each probe run's headline."""
    from duplex.report.table import format_leaderboard

    suites = [r for r in runs if r.kind == "suite"]
    parts = []
    if suites:
        parts.append(format_leaderboard([{**r.summary, "model": labels[r.folder]} for r in suites]))
    for r in runs:
        if r.kind == "suite":
            continue
        cells = []
        for key, _label, _d in r.headline:
            m = r.summary.get("metrics", {}).get(key) or {}
            if m.get("mean") is not None:
                cells.append(f"{key} {m['mean']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]")
        parts.append(f"{labels[r.folder]} ({r.kind}): " + "; ".join(cells))
    return "\n".join(parts)
