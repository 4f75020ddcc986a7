"""Finished run folders, read back for comparison and reports.

A run folder is what :mod:`duplex.report.store` writes: ``run.json``, ``results.jsonl``,
``summary.json`` and ``sessions/``. :func:`load_run` reads one into a
:class:`~duplex.report.rundata.RunData`; :func:`expand_runs` also accepts a parent folder of runs
(``run --scenario all`` writes ``OUT/<suite>``).

Extension point for other kinds of results (e.g. probe results, which are not session runs): add a
loader to :data:`LOADERS` - a function ``folder -> RunData | None`` that returns None for folders
that are not its kind. Anything it returns is compared and reported like a suite run, as long as
it fills ``items`` (per-item numbers, needed for paired statistics) and ``summary`` (means with
intervals, for the leaderboard). Results that later commands store beside a run (rubric scores)
are added by :data:`EXTENSIONS`, functions ``RunData -> None`` applied to every loaded run.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from pathlib import Path

from duplex.errors import ResultsError, UnknownNameError
from duplex.metrics.stats import summarize
from duplex.metrics.tasks import TASKS, Task
from duplex.report.documents import to_json
from duplex.report.probes import load_probe_run
from duplex.report.rundata import Direction, RunData
from duplex.report.store import RunStore
from duplex.report.table import format_leaderboard


def run_task(name: str, folder: Path) -> Task:
    """The registered task a run was scored with; a run of an unknown task is an error, not a run
    without headline figures (``compare`` would silently lose its gates)."""
    try:
        return TASKS.get(name)
    except UnknownNameError as exc:
        raise ResultsError(f"{folder}: {exc}; this duplex-bench cannot judge its figures") from exc


def load_suite_run(folder: Path) -> RunData | None:
    """The loader for runs written by :func:`duplex.runner.run_suite` (and live sessions)."""
    store = RunStore(folder)
    if not store.run_path.is_file():
        return None
    run_doc = to_json(store.read_run_doc())
    summary_doc = store.read_summary()
    summary = to_json(summary_doc) if summary_doc is not None else {}
    rows = {k: to_json(r) for k, r in store.read_results().items()}
    run = RunData(folder, run_doc, summary, rows)
    task = run_task(run.task, folder)
    run.known_directions = dict(task.directions())
    if summary.get("headline"):
        run.headline = [(h["key"], h["label"], h["better"]) for h in summary["headline"]]
    else:
        run.headline = [tuple(h) for h in task.headline]  # type: ignore[misc]
    if not summary.get("metrics"):
        summary["metrics"] = summarize(
            [r["metrics"] for r in run.ok_rows().values()], run.metric_keys()
        )
    return run


def _merge_rubric(run: RunData) -> None:
    from duplex.report.rubric_store import merge_rubric

    merge_rubric(run)


#: Results stored beside a run by later commands (``rubric.json`` from ``duplex-bench rubric``),
#: added to every loaded run as per-item metrics and summary figures.
Extension = Callable[[RunData], None]
EXTENSIONS: list[Extension] = [_merge_rubric]

#: Files that make a folder a run folder (for :func:`expand_runs`).
MARKERS = ("run.json", "probe.json")
Loader = Callable[[Path], RunData | None]
#: Tried in order; the first that recognises a folder reads it.
LOADERS: list[Loader] = [load_suite_run, load_probe_run]


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
    """Metric -> "lower"/"higher" for this run: explicit overrides, then the run's headline,
    then what its task (or loader) knows. Metrics in none of these are compared without a verdict
    (their change is shown, not judged)."""
    out = dict(run.known_directions)
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
