"""Throughput of the probes: items per minute with batching, and one item at a time.

What is timed is what :func:`duplex.probes.run.run_probe` spends scoring (``score_items`` over
the chosen sets, in chunks of ``batch_size``): for ``s2t`` the ASR and the LM, for ``t2t`` the
LM. Speaking the contexts (TTS) is cached on disk and is not part of the per-item figure; its
cold cost is measured once and reported beside it. The ASR figure is *cold*: transcripts are not
cached (the Whisper pass really runs for every item, every repeat); a warm rerun, where the
transcript cache answers, is reported separately.

The bench runs in a fresh temporary cache folder (``$DUPLEX_BENCH_CACHE`` for its duration), so
rendering is really cold and no earlier transcript is reused. Both paths share one loaded LM; the
one-item path uses the ASR as :func:`duplex.speech.asr.transcribe` runs it (one model, two
threads), the batched one a model of its own with ``threads`` one-thread workers. Every repeat
runs both paths and both conditions, interleaved, so the machine's other load falls on both;
figures are medians over repeats, printed with the load average (the machine may be shared).
The batched scores are checked against the one-item scores (largest difference in nats).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from duplex.bench.base import Benchmark
from duplex.probes.cascade import CascadeScorer, whisper_transcriber
from duplex.probes.conditions import CONDITIONS
from duplex.probes.models import DEFAULT_THREADS
from duplex.probes.run import DEFAULT_BATCH, load_sets, score_items
from duplex.probes.scoring import TokenScores
from duplex.probes.sets import ProbeSet

DEFAULT_SETS = ("copa", "bcopa", "blimp", "hellaswag")
CONDITION_NAMES = ("s2t", "t2t")
Progress = Callable[[str], None]


def run_probe_bench(
    *,
    sets: Sequence[str] = DEFAULT_SETS,
    limit: int = 16,
    repeats: int = 3,
    batch_size: int = DEFAULT_BATCH,
    threads: int = DEFAULT_THREADS,
    unbatched: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Items per minute of the default cascade (SmolLM2-135M via Whisper tiny.en)."""
    say = progress or (lambda _msg: None)
    chosen = load_sets(sets, limit)
    previous = os.environ.get("DUPLEX_BENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as root:
        os.environ["DUPLEX_BENCH_CACHE"] = root
        try:
            return _bench(chosen, repeats, batch_size, threads, unbatched, say)
        finally:
            if previous is None:
                os.environ.pop("DUPLEX_BENCH_CACHE", None)
            else:
                os.environ["DUPLEX_BENCH_CACHE"] = previous


def _bench(
    sets: list[ProbeSet],
    repeats: int,
    batch_size: int,
    threads: int,
    unbatched: bool,
    say: Progress,
) -> dict[str, Any]:
    from duplex.probes.hf import load_smollm2

    n_items = sum(len(s.items) for s in sets)
    say(f"rendering {n_items} contexts (cold TTS)")
    render_cold = _render_s_per_item(sets)
    render_warm = _render_s_per_item(sets)
    say("loading SmolLM2-135M")
    start = time.perf_counter()
    lm = load_smollm2(threads=threads)
    load_s = time.perf_counter() - start
    scorers = {
        "batched": CascadeScorer(
            lm, *whisper_transcriber(cached=False, workers=threads), workers=threads
        ),
    }
    if unbatched:
        scorers["unbatched"] = CascadeScorer(lm, *whisper_transcriber(cached=False))
    for mode, scorer in scorers.items():  # first calls load the ASR and warm both models
        for name in CONDITION_NAMES:
            _score_all(scorer, sets[:1], name, 2, batched=mode == "batched", limit=2)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        m: {c: [] for c in CONDITION_NAMES} for m in scorers
    }
    scores: dict[tuple[str, str], list[tuple[TokenScores, ...]]] = {}
    for rep in range(repeats):
        for mode, scorer in scorers.items():
            for name in CONDITION_NAMES:
                say(f"repeat {rep + 1}/{repeats}: {mode} {name}")
                run, got = _timed(scorer, sets, name, batch_size, batched=mode == "batched")
                runs[mode][name].append(run)
                scores.setdefault((mode, name), got)
    warm = _warm_s2t(lm, sets, repeats, batch_size, threads, say)
    result: dict[str, Any] = {
        "model": "cascade (SmolLM2-135M via Whisper tiny.en)",
        "sets": [s.name for s in sets],
        "items": n_items,
        "items_per_set": {s.name: len(s.items) for s in sets},
        "repeats": repeats,
        "batch_size": batch_size,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "lm_load_s": round(load_s, 1),
        "render_cold_s_per_item": round(render_cold, 3),
        "render_warm_s_per_item": round(render_warm, 4),
        "figures": {m: {c: _summary(r) for c, r in per.items()} for m, per in runs.items()},
        "s2t_warm_transcripts": warm,
        "load_average_1m": statistics.median(
            r["load_1m"] for per in runs.values() for rs in per.values() for r in rs
        ),
    }
    if unbatched:
        _compare_modes(result, scores)
    return result


def _render_s_per_item(sets: list[ProbeSet]) -> float:
    """Seconds per context to render every set's spoken contexts (cold, then cached)."""
    from duplex.probes import conditions as cond_mod

    spoken = CONDITIONS.get("s2t")
    start = time.perf_counter()
    n = 0
    for s in sets:
        for it in s.items:
            cond_mod.render(it.context, spoken)
            n += 1
    return (time.perf_counter() - start) / n


def _compare_modes(
    result: dict[str, Any], scores: dict[tuple[str, str], list[tuple[TokenScores, ...]]]
) -> None:
    """Batched against one item at a time: the speed ratio and whether the numbers agree."""
    result["batched_over_unbatched"] = {
        c: round(
            result["figures"]["batched"][c]["items_per_min"]
            / result["figures"]["unbatched"][c]["items_per_min"],
            2,
        )
        for c in CONDITION_NAMES
    }
    result["max_abs_diff_nats"] = {
        c: _max_diff(scores[("batched", c)], scores[("unbatched", c)]) for c in CONDITION_NAMES
    }
    result["same_transcripts"] = [s[0].context_text for s in scores[("batched", "s2t")]] == [
        s[0].context_text for s in scores[("unbatched", "s2t")]
    ]


def _score_all(
    scorer: CascadeScorer,
    sets: Sequence[ProbeSet],
    condition: str,
    batch_size: int,
    *,
    batched: bool,
    limit: int | None = None,
) -> list[tuple[TokenScores, ...]]:
    """Chunks of ``batch_size`` within each set, as ``run_probe`` forms them."""
    cond = CONDITIONS.get(condition)
    out: list[tuple[TokenScores, ...]] = []
    for s in sets:
        items = s.items[:limit] if limit else s.items
        size = batch_size if batched else 1
        for k in range(0, len(items), size):
            out += score_items(scorer, items[k : k + size], cond, seed=0, batch=batched)
    return out


def _timed(
    scorer: CascadeScorer,
    sets: Sequence[ProbeSet],
    condition: str,
    batch_size: int,
    *,
    batched: bool,
) -> tuple[dict[str, Any], list[tuple[TokenScores, ...]]]:
    scorer.stage_seconds = {"asr": 0.0, "lm": 0.0}
    start, start_cpu = time.perf_counter(), time.process_time()
    got = _score_all(scorer, sets, condition, batch_size, batched=batched)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    n = len(got)
    run = {
        "items_per_min": 60.0 * n / wall,
        "s_per_item": wall / n,
        "cpu_s_per_item": cpu / n,
        "asr_s_per_item": scorer.stage_seconds["asr"] / n,
        "lm_s_per_item": scorer.stage_seconds["lm"] / n,
        "load_1m": os.getloadavg()[0],
    }
    return run, got


def _warm_s2t(
    lm: Any, sets: Sequence[ProbeSet], repeats: int, batch_size: int, threads: int, say: Progress
) -> dict[str, Any]:
    """s2t with the transcript cache answering (a rerun of the same items)."""
    scorer = CascadeScorer(lm, *whisper_transcriber(cached=True, workers=threads), workers=threads)
    say("filling the transcript cache")
    _score_all(scorer, sets, "s2t", batch_size, batched=True)
    runs = []
    for rep in range(repeats):
        say(f"repeat {rep + 1}/{repeats}: batched s2t, warm transcripts")
        runs.append(_timed(scorer, sets, "s2t", batch_size, batched=True)[0])
    return _summary(runs)


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str, digits: int) -> float:
        return round(statistics.median(r[key] for r in runs), digits)

    return {
        "items_per_min": med("items_per_min", 1),
        # what the CPU time allows: one idle core would do this, two idle cores up to twice it
        "items_per_cpu_min": round(60.0 / statistics.median(r["cpu_s_per_item"] for r in runs), 1),
        "runs_items_per_min": [round(r["items_per_min"], 1) for r in runs],
        "s_per_item": med("s_per_item", 3),
        "cpu_s_per_item": med("cpu_s_per_item", 3),
        "asr_s_per_item": med("asr_s_per_item", 3),
        "lm_s_per_item": med("lm_s_per_item", 3),
        "load_1m": [round(r["load_1m"], 2) for r in runs],
    }


def _max_diff(a: list[tuple[TokenScores, ...]], b: list[tuple[TokenScores, ...]]) -> float:
    worst = 0.0
    for item_a, item_b in zip(a, b, strict=True):
        for sa, sb in zip(item_a, item_b, strict=True):
            if sa.n != sb.n:
                return float("inf")
            worst = max(worst, *(abs(x - y) for x, y in zip(sa.logprobs, sb.logprobs, strict=True)))
    return float(f"{worst:.2e}")


def format_probe_bench(r: dict[str, Any]) -> str:
    lines = [
        f"probe benchmark: {r['model']}, {r['items']} items ({', '.join(r['sets'])}), "
        f"batch {r['batch_size']}, {r['threads']} threads on {r['cpu_count']} cores, "
        f"{r['repeats']} repeats, medians; load average (1 min) {r['load_average_1m']:.2f}",
        "  path       cond  items/min  items/cpu-min  s/item  cpu s/item  asr s/item  lm s/item"
        "  runs (items/min)  load",
    ]
    for mode, per in r["figures"].items():
        for cond, f in per.items():
            lines.append(_row(mode, cond, f))
    lines.append(_row("batched", "s2t*", r["s2t_warm_transcripts"]))
    lines.append("  * warm: transcripts from the cache (a rerun); the s2t rows above are cold")
    lines.append(
        "  items/cpu-min = 60 / cpu s per item: about what one idle core does (two idle cores"
        " up to twice it); items/min is wall time on this machine as loaded"
    )
    if "batched_over_unbatched" in r:
        ratio = r["batched_over_unbatched"]
        diff = r["max_abs_diff_nats"]
        lines.append(
            f"  batched / unbatched items per minute: s2t {ratio['s2t']:.2f}x, "
            f"t2t {ratio['t2t']:.2f}x; largest score difference {diff['s2t']:.1e} (s2t), "
            f"{diff['t2t']:.1e} (t2t) nats; same transcripts: {r['same_transcripts']}"
        )
    lines.append(
        f"  not per item: TTS rendering of a context {r['render_cold_s_per_item']:.3f} s cold, "
        f"{r['render_warm_s_per_item']:.4f} s cached; SmolLM2 load {r['lm_load_s']:.0f} s"
    )
    return "\n".join(lines)


def _row(mode: str, cond: str, f: dict[str, Any]) -> str:
    runs = " ".join(f"{v:.1f}" for v in f["runs_items_per_min"])
    load = " ".join(f"{v:.1f}" for v in f["load_1m"])
    return (
        f"  {mode:<10} {cond:<5} {f['items_per_min']:9.1f} {f['items_per_cpu_min']:14.1f} "
        f"{f['s_per_item']:7.3f} "
        f"{f['cpu_s_per_item']:11.3f} {f['asr_s_per_item']:11.3f} {f['lm_s_per_item']:10.3f}  "
        f"{runs:<17} {load}"
    )


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="sets", action="append", help=f"default: {DEFAULT_SETS}")
    p.add_argument("--limit", type=int, default=16, help="items per set")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-unbatched", action="store_true", help="skip the one-item path")


def _run_from(a: argparse.Namespace) -> dict[str, Any]:
    return run_probe_bench(
        sets=tuple(a.sets or DEFAULT_SETS),
        limit=a.limit,
        repeats=a.repeats,
        batch_size=a.batch_size,
        threads=a.threads,
        unbatched=not a.no_unbatched,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )


BENCH = Benchmark(
    "probes",
    "probe items per minute (s2t, t2t), batched or not",
    _arguments,
    _run_from,
    format_probe_bench,
)
