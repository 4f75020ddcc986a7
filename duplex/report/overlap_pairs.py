"""The figures of an ``overlap`` run that need both runs of a pair: behaviour labels, the rate of
the expected behaviour, and prosody shifts between the clean and the overlapped run.

A pair is the rows ``ID.clean`` and ``ID`` (both ok). For each pair the labeller
(:mod:`duplex.judges.overlap`, the embedded one by default; API judges through
:mod:`duplex.judges.overlap_api`) reads both transcripts with word times and gives one label:
respond / resume / uncertain / unknown. Into the summary go:

- ``metrics.expected_behaviour``: over pairs with a label and an expected behaviour, 1 when the
  label is it (resume for backchannels, side talk and background speech; respond for
  interruptions), with its bootstrap interval;
- ``metrics.label_<name>``: the share of pairs with each label (the anchor's behaviour figures);
- ``judge``: the labeller (name, model, prompt version and hash) and the counts;
- ``pairs``: the number of pairs, whether this step labelled them, and per prosody feature the
  paired test of overlapped minus clean (after the overlap point) over all pairs and over the
  pairs labelled respond (the anchor's choice), MAD-trimmed
  (:func:`duplex.metrics.prosody.paired_test`).

Every label is appended to ``RUN/overlap_labels.jsonl`` with the labeller and its inputs (a re-run
appends again; readers take the last line per pair and labeller). Without a labeller (``--judge
none``) only the prosody shifts over all pairs are computed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duplex.annotations import CLEAN_SUFFIX, pair_id
from duplex.errors import ConfigError
from duplex.judges.overlap import LabelCase, Labeller, LabelVerdict, TimedWord
from duplex.judges.overlap_api import LabelCache, label_cases, load_labeller
from duplex.metrics.overlap_handling import LABELS, PROSODY_FIELDS
from duplex.metrics.prosody import paired_test
from duplex.metrics.stats import summarize
from duplex.report.documents import to_json
from duplex.report.judged import RunJudge, save_judged_summary
from duplex.report.store import RunStore
from duplex.writing import append_line

TASK = "overlap"
LABELS_FILE = "overlap_labels.jsonl"
HEADLINE = {
    "key": "expected_behaviour",
    "label": "pairs with the expected behaviour (judge)",
    "better": "higher",
}
#: The prosody figures compared (metric keys of the overlapped run; ``clean_`` + key in the
#: clean run's row).
PROSODY = tuple(f"{stem}_after{unit}" for _name, stem, unit in PROSODY_FIELDS)


@dataclass(frozen=True)
class Pair:
    """The two ok rows of one item (results.jsonl documents)."""

    clean: dict[str, Any]
    overlapped: dict[str, Any]

    @property
    def item_id(self) -> str:
        return str(self.overlapped["item_id"])

    @property
    def expect(self) -> str | None:
        value = (self.overlapped.get("details") or {}).get("expect")
        return str(value) if value else None


def pairs(rows: Sequence[dict[str, Any]]) -> list[Pair]:
    """The pairs whose two runs are both ok, in the order of the overlapped rows."""
    ok = {str(r["item_id"]): r for r in rows if r.get("status") == "ok"}
    out = []
    for item_id, row in ok.items():
        base, clean = pair_id(item_id)
        if not clean and base + CLEAN_SUFFIX in ok:
            out.append(Pair(ok[base + CLEAN_SUFFIX], row))
    return out


def _words(details: dict[str, Any]) -> tuple[TimedWord, ...]:
    raw = json.loads(details.get("words") or "[]")
    return tuple(TimedWord(float(a), float(b), str(t)) for a, b, t in raw)


def case_of(pair: Pair) -> LabelCase | None:
    """What the labeller reads, or None when the overlapped run has no resolved overlap."""
    d = pair.overlapped.get("details") or {}
    m = pair.overlapped.get("metrics") or {}
    if d.get("variant") != "overlapped" or m.get("overlap_start_s") is None:
        return None
    return LabelCase(
        item_id=pair.item_id,
        context=str(d.get("context") or ""),
        overlap=str(d.get("overlap_text") or ""),
        talker=str(d.get("talker") or ""),
        start=float(m["overlap_start_s"]),
        end=float(m["overlap_end_s"]),
        clean=_words(pair.clean.get("details") or {}),
        overlapped=_words(d),
    )


def prosody_shifts(chosen: Sequence[Pair]) -> dict[str, Any]:
    """Per feature, the paired test of overlapped minus clean over ``chosen``."""
    return {
        key: paired_test(
            [(p.clean.get("metrics") or {}).get("clean_" + key) for p in chosen],
            [(p.overlapped.get("metrics") or {}).get(key) for p in chosen],
        ).to_json()
        for key in PROSODY
    }


@dataclass(frozen=True)
class PairResult:
    """What the pair step adds to a summary, and one record per labelled pair."""

    metrics: dict[str, dict[str, Any]]
    judge: dict[str, Any] | None
    pairs: dict[str, Any]
    records: list[dict[str, Any]]


def analyse(
    rows: Sequence[dict[str, Any]],
    labeller: Labeller | None,
    *,
    cache: LabelCache | None = None,
    concurrency: int | None = None,
    seed: int = 0,
) -> PairResult:
    """Labels (when a labeller is given), their figures and the prosody shifts of ``rows``."""
    found = pairs(rows)
    shifts: dict[str, Any] = {"all": prosody_shifts(found)}
    if labeller is None:
        return PairResult(
            {}, None, {"n": len(found), "labelled": False, "prosody_shift": shifts}, []
        )
    cases = [case_of(p) for p in found]
    todo = [c for c in cases if c is not None]
    verdicts = iter(label_cases(labeller, todo, cache=cache, concurrency=concurrency))
    labelled: list[tuple[Pair, LabelCase | None, LabelVerdict | None]] = [
        (p, c, None if c is None else next(verdicts)) for p, c in zip(found, cases, strict=True)
    ]
    per_pair = [_figures(p, v) for p, _c, v in labelled]
    keys = ["expected_behaviour", *(f"label_{name}" for name in LABELS)]
    metrics = summarize(per_pair, keys, seed=seed)
    counts = Counter(v.label if v and v.label else "missing" for _p, _c, v in labelled)
    describe = labeller.describe()
    judge = {
        **describe,
        "spec": describe.get("spec", describe.get("name")),
        "items": {
            "pairs": len(found),
            "labelled": sum(1 for _p, _c, v in labelled if v and v.label),
            "cached": sum(1 for _p, _c, v in labelled if v and v.cached),
            "missing": counts.get("missing", 0),
        },
        "labels": {name: counts.get(name, 0) for name in (*LABELS, "missing")},
        "missing": [
            {"item_id": p.item_id, "reason": v.reason if v else "no resolved overlap"}
            for p, _c, v in labelled
            if not (v and v.label)
        ],
    }
    responded = [p for p, _c, v in labelled if v and v.label == "respond"]
    shifts["respond"] = prosody_shifts(responded)
    records = [_record(p, c, v, describe) for p, c, v in labelled]
    pairs_doc = {"n": len(found), "labelled": True, "prosody_shift": shifts}
    return PairResult(metrics, judge, pairs_doc, records)


def _figures(pair: Pair, verdict: LabelVerdict | None) -> dict[str, Any]:
    label = verdict.label if verdict else None
    if label is None:
        return {}
    out: dict[str, Any] = {f"label_{name}": int(label == name) for name in LABELS}
    if pair.expect is not None:
        out["expected_behaviour"] = int(label == pair.expect)
    return out


def _record(
    pair: Pair, case: LabelCase | None, verdict: LabelVerdict | None, describe: dict[str, Any]
) -> dict[str, Any]:
    return {
        "item_id": pair.item_id,
        "expect": pair.expect,
        "judge": describe,
        "inputs": None if case is None else json.loads(case.key()),
        "verdict": None if verdict is None else verdict.to_json(),
        "cached": bool(verdict and verdict.cached),
        "labelled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def apply(summary: dict[str, Any], result: PairResult) -> dict[str, Any]:
    """``summary`` (as JSON) with the pair figures in it."""
    summary.setdefault("metrics", {}).update(result.metrics)
    if result.judge is not None:
        summary["judge"] = result.judge
        headline = summary.setdefault("headline", [])
        if not any(h.get("key") == HEADLINE["key"] for h in headline):
            headline.insert(0, dict(HEADLINE))
    summary["pairs"] = result.pairs
    return summary


def open_labeller(spec: str | None) -> tuple[Labeller | None, LabelCache | None]:
    """The labeller of a ``--judge`` spec (None or ``none``: no labels) and its cache."""
    if spec is None or spec == "none":
        return None, None
    labeller = load_labeller(spec)
    return labeller, LabelCache.default() if labeller.cacheable else None


def label_run(
    run_dir: Path | str,
    spec: str | None = "smollm2",
    *,
    labeller: Labeller | None = None,
    cache: LabelCache | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Label the pairs of an ``overlap`` run folder; returns the updated summary (also written)."""
    folder = Path(run_dir)
    store = RunStore(folder)
    summary = store.read_json(store.summary_path)
    if summary.get("task") != TASK:
        raise ConfigError(
            f"{folder}: task is {summary.get('task')!r}; labels are for {TASK!r} runs"
        )
    rows = [to_json(r) for r in store.read_results().values()]
    owned = labeller is None
    if owned:
        labeller, owned_cache = open_labeller(spec)
        cache = cache or owned_cache
    try:
        result = analyse(rows, labeller, cache=cache, concurrency=concurrency)
    finally:
        if owned and labeller is not None:
            labeller.close()
        if owned and cache is not None:
            cache.close()
    for record in result.records:
        append_line(folder / LABELS_FILE, json.dumps(record, ensure_ascii=False), what="labels")
    return save_judged_summary(store, apply(summary, result))


def format_labelled(summary: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    judge = summary.get("judge") or {}
    pairs_doc = summary.get("pairs") or {}
    if not pairs_doc.get("labelled", True) or not judge:
        return (
            f"overlap pairs: {pairs_doc.get('n', 0)}; prosody shifts only (no labels: --judge none)"
        )
    counts = judge.get("labels", {})
    m = (summary.get("metrics") or {}).get("expected_behaviour") or {}
    rate = "-" if m.get("mean") is None else f"{m['mean']:.2f} (n={m['n']})"
    lines = [
        f"labeller {judge.get('spec')} (model {judge.get('model')}, "
        f"prompt {judge.get('prompt_version')}): {pairs_doc.get('n', 0)} pairs",
        "  labels: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in (*LABELS, "missing")),
        f"  expected behaviour: {rate}",
    ]
    lines += [f"  missing {m['item_id']}: {m['reason']}" for m in judge.get("missing", [])[:10]]
    return "\n".join(lines)


def _label(folder: Path, spec: str | None, concurrency: int | None) -> dict[str, Any]:
    return label_run(folder, spec, concurrency=concurrency)


PAIRS = RunJudge(_label, format_labelled, always=True)
