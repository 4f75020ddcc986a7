"""Agreement of the overlap behaviour labeller with oracle truth, and the oracles' timing errors.

Oracle instruments with known behaviour run lock-step on the v1.5 suites (clean and overlapped,
scored with Whisper tiny.en), and the embedded labeller labels every pair:

    talk-through     oracle keeps talking                          -> resume
    pause-resume     stops 0.3 s in, goes on 1.0 s later           -> resume
    respond          stops 0.3 s in, answers 0.6 s after the end   -> respond
    stop-silent      stops 0.3 s in and says nothing more          -> uncertain
    silent           never speaks                                  -> unknown

The labeller's settings were tuned on the dev suites (user_backchannel, talking_to_other); the
test suites (background_speech, overlap_interruption) were not looked at while tuning. Prints a
confusion matrix per split, and the stop / response latency errors of the respond oracle.

.venv/bin/python benchmarks/overlap_labels_bench.py [--items 8] [--out /tmp/runs] [--json f]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

BEHAVIOURS = {
    "talk-through": ("oracle:latency=0.6,length=14", "resume"),
    "pause-resume": ("oracle:latency=0.6,length=14,stop=0.3,resume=1.0", "resume"),
    "respond": ("oracle:latency=0.6,length=14,stop=0.3,respond=0.6", "respond"),
    "stop-silent": ("oracle:latency=0.6,length=14,stop=0.3", "uncertain"),
    "silent": ("silent", "unknown"),
}
SPLITS = {
    "dev": ("user_backchannel", "talking_to_other"),
    "test": ("background_speech", "overlap_interruption"),
}


def run(items: int, out: Path) -> dict[str, Any]:
    from duplex.judges.overlap import LABELS, EmbeddedLabeler, label_run
    from duplex.report.store import RunStore
    from duplex.runner import RunConfig, run_suite

    labeler = EmbeddedLabeler()
    figures: dict[str, Any] = {"splits": {}, "timing": {"stop_err": [], "response_err": []}}
    for split, suites in SPLITS.items():
        matrix = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
        for suite in suites:
            for name, (spec, truth) in BEHAVIOURS.items():
                folder = out / f"{suite}-{name}"
                print(f"{split}: {suite} {name}", file=sys.stderr)
                config = RunConfig(suite=suite, model=spec, limit=2 * items, out=folder, resume=True)
                run_suite(config)
                summary = label_run(folder, labeler)
                for line in (folder / "overlap_labels.jsonl").read_text().splitlines()[-items:]:
                    got = json.loads(line)["label"] or "unknown"
                    matrix[truth][got] += 1
                if name == "respond":
                    for row in RunStore(folder).read_results().values():
                        m = row.get("metrics") or {}
                        if m.get("stop_latency_s") is not None:
                            figures["timing"]["stop_err"].append(m["stop_latency_s"] - 0.3)
                        if m.get("response_latency_s") is not None:
                            figures["timing"]["response_err"].append(m["response_latency_s"] - 0.6)
                del summary
        total = sum(sum(r.values()) for r in matrix.values())
        agree = sum(matrix[t][t] for t in LABELS)
        figures["splits"][split] = {"matrix": matrix, "agreement": agree / total, "n": total}
    return figures


def format_table(f: dict[str, Any]) -> str:
    from duplex.judges.overlap import LABELS

    lines = []
    for split, d in f["splits"].items():
        lines.append(f"{split}: agreement {d['agreement']:.3f} (n={d['n']}); rows truth, cols label")
        lines.append(" " * 11 + "".join(f"{lab:>10}" for lab in LABELS))
        for t in LABELS:
            lines.append(f"{t:<11}" + "".join(f"{d['matrix'][t][g]:>10}" for g in LABELS))
    for key in ("stop_err", "response_err"):
        e = np.abs(np.array(f["timing"][key]))
        if e.size:
            lines.append(
                f"respond oracle {key}: n={e.size} median {np.median(e) * 1000:.1f} ms, "
                f"max {e.max() * 1000:.1f} ms"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=8, help="items per suite and behaviour")
    parser.add_argument("--out", default="/tmp/duplex-overlap-labels")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run(args.items, Path(args.out))
    from _report import emit

    return emit(format_table(result), result, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
