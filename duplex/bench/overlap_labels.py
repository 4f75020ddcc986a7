"""The overlap task against instruments whose behaviour is known: the behaviour labeller's agreement
with the truth (confusion matrices), and the error of the stop and response latencies.

Oracle instruments run lock-step on the v1.5 suites (clean and overlapped runs, Whisper tiny.en),
and the embedded labeller labels every pair:

    talk-through   keeps talking                                    -> resume
    pause-resume   stops 0.3 s in, goes on 1.0 s later              -> resume
    respond        stops 0.3 s in, answers 0.6 s after the end      -> respond
    repeat         stops 0.3 s in, asks to hear it again 0.6 s on   -> uncertain
    stop-silent    stops 0.3 s in and says nothing more             -> unknown
    silent         never speaks                                     -> unknown

The labeller's settings were tuned on the dev suites (user_backchannel, talking_to_other); the
test suites (background_speech, overlap_interruption) were not looked at while tuning. Timing
errors are over the overlapped runs of the ``respond`` oracle: measured minus 0.3 s (stop) and
0.6 s (response), sample-accurate and by the anchor's v1.5 timing.

``duplex-bench bench overlap-labels [--items 8] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from duplex.bench.base import Benchmark, load_average

ORACLE = "oracle:latency=0.6,length=14"
BEHAVIOURS = {
    "talk-through": (ORACLE, "resume"),
    "pause-resume": (f"{ORACLE},stop=0.3,resume=1.0", "resume"),
    "respond": (f"{ORACLE},stop=0.3,respond=0.6", "respond"),
    "repeat": (f"{ORACLE},stop=0.3,respond=0.6,reply=repeat", "uncertain"),
    "stop-silent": (f"{ORACLE},stop=0.3", "unknown"),
    "silent": ("silent", "unknown"),
}
SPLITS = {
    "dev": ("user_backchannel", "talking_to_other"),
    "test": ("background_speech", "overlap_interruption"),
}
STOP_S, RESPOND_S = 0.3, 0.6
TIMING_KEYS = {
    "stop_latency_s": STOP_S,
    "stop_latency_fdb_s": STOP_S,
    "response_latency_s": RESPOND_S,
    "response_latency_fdb_s": RESPOND_S,
}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(options: argparse.Namespace) -> dict[str, Any]:
    from duplex.judges.overlap import EmbeddedLabeller
    from duplex.metrics.overlap_handling import LABELS
    from duplex.report.overlap_pairs import label_run
    from duplex.report.store import RunStore
    from duplex.runner import RunConfig, run_suite

    os.environ.setdefault("OMP_NUM_THREADS", "2")
    out, items = Path(options.out), int(options.items)
    labeller = EmbeddedLabeller()
    errors: dict[str, list[float]] = {k: [] for k in TIMING_KEYS}
    figures: dict[str, Any] = {"splits": {}, "labeller": labeller.describe()}
    for split, suites in SPLITS.items():
        matrix = {t: dict.fromkeys((*LABELS, "missing"), 0) for t in LABELS}
        for suite in suites:
            for name, (spec, truth) in BEHAVIOURS.items():
                folder = out / f"{suite}-{name}"
                _log(f"{split}: {suite} {name}")
                limit = 2 * items  # each pair is two items
                run_suite(RunConfig(suite=suite, model=spec, limit=limit, out=folder, resume=True))
                label_run(folder, labeller=labeller)
                for label in _labels(folder).values():
                    matrix[truth][label or "missing"] += 1
                if name == "respond":
                    for row in RunStore(folder).read_results().values():
                        for key, truth_s in TIMING_KEYS.items():
                            value = row.metrics.get(key)
                            if value is not None:
                                errors[key].append(float(value) - truth_s)
        total = sum(sum(r.values()) for r in matrix.values())
        agree = sum(matrix[t][t] for t in LABELS)
        figures["splits"][split] = {
            "suites": list(suites),
            "matrix": matrix,
            "agreement": agree / total if total else None,
            "n": total,
        }
    figures["timing_errors"] = errors
    figures["load_average"] = load_average()
    labeller.close()
    return figures


def _labels(folder: Path) -> dict[str, str | None]:
    """The last label per pair in the run's label file."""
    out: dict[str, str | None] = {}
    for line in (folder / "overlap_labels.jsonl").read_text().splitlines():
        doc = json.loads(line)
        verdict = doc.get("verdict") or {}
        out[doc["item_id"]] = verdict.get("label")
    return out


def format_table(f: dict[str, Any]) -> str:
    from duplex.metrics.overlap_handling import LABELS

    cols = (*LABELS, "missing")
    lines = [f"labeller {f['labeller']['name']} {f['labeller']['prompt_version']}"]
    for split, d in f["splits"].items():
        rate = "-" if d["agreement"] is None else f"{d['agreement']:.3f}"
        lines.append(
            f"{split} ({', '.join(d['suites'])}): agreement {rate} (n={d['n']}); "
            "rows: truth, columns: label"
        )
        lines.append(" " * 11 + "".join(f"{c:>10}" for c in cols))
        for t in LABELS:
            lines.append(f"{t:<11}" + "".join(f"{d['matrix'][t][c]:>10}" for c in cols))
    lines.append("respond oracle (stop 0.3 s, respond 0.6 s), |measured - truth|:")
    for key, errs in f["timing_errors"].items():
        e = np.abs(np.array(errs))
        if e.size:
            lines.append(
                f"  {key:<24} n={e.size:<4} median {np.median(e) * 1000:6.1f} ms  "
                f"max {e.max() * 1000:6.1f} ms"
            )
        else:
            lines.append(f"  {key:<24} n=0")
    lines.append(f"load average {f['load_average']}")
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", type=int, default=8, help="pairs per suite and behaviour")
    p.add_argument("--out", default="/tmp/duplex-overlap-labels", help="run folders (resumed)")


BENCH = Benchmark(
    "overlap-labels",
    "the overlap labeller against oracles of known behaviour (confusion matrix) and the "
    "stop/response latency errors",
    _arguments,
    run,
    format_table,
)
