"""``run_probe``: the library function behind ``duplex-bench probe``.

Sets and conditions are checked before the model loads (a typo costs no 30 s model load). Each
item is scored under every condition; the item draws of the bootstrap are shared by every figure
of a set, so all gaps are paired. Results carry what is needed to reproduce them: the model spec
and the scorer's own description, set versions (file hashes), conditions, TTS and ASR backends,
seeds and package versions.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from duplex.errors import ConfigError, DuplexError, ModelError, ResultsError
from duplex.probes import conditions as cond_mod
from duplex.probes import metrics
from duplex.probes.conditions import CONDITIONS, ORDER, Condition
from duplex.probes.metrics import ItemScores
from duplex.probes.models import DEFAULT_MODEL, DEFAULT_THREADS, load_scorer
from duplex.probes.scoring import (
    BATCH_METHODS,
    SPEECH,
    SPEECH_BOTH,
    TEXT,
    ContinuationScorer,
    SpeechContinuationScorer,
    SpeechScorer,
    TextScorer,
    TokenScores,
)
from duplex.probes.sets import SETS, ProbeItem, ProbeSet, load_set
from duplex.speech.wer import word_errors
from duplex.writing import write_text

RESULTS_FORMAT = 1
REFERENCE = "t2t"
DEFAULT_BATCH = 16
ALL = "all"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ProbeConfig:
    model: str = DEFAULT_MODEL
    sets: tuple[str, ...] = ()  # empty: every registered set
    conditions: tuple[str, ...] = ()  # empty: every condition the model supports
    limit: int | None = None
    seed: int = 0
    threads: int = DEFAULT_THREADS
    #: Items scored together when the scorer has batch methods; 1 scores one item at a time.
    batch_size: int = DEFAULT_BATCH


@dataclass
class ProbeRun:
    config: ProbeConfig
    rows: list[dict[str, Any]]
    items: list[dict[str, Any]]
    provenance: dict[str, Any]
    timing: dict[str, dict[str, float | None]] = field(default_factory=dict)
    #: items the model failed on (set, id, condition, reason), left out of every condition
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            "config": {
                "model": self.config.model,
                "sets": list(self.config.sets),
                "conditions": list(self.config.conditions),
                "limit": self.config.limit,
                "seed": self.config.seed,
                "threads": self.config.threads,
                "batch_size": self.config.batch_size,
            },
            "provenance": self.provenance,
            "timing": self.timing,
            "summary": self.rows,
            "items": self.items,
            "failures": self.failures,
        }


def load_sets(names: Sequence[str], limit: int | None) -> list[ProbeSet]:
    chosen = list(names) or SETS.names()
    for name in chosen:
        SETS.get(name)  # every unknown name fails before any file is read
    return [load_set(name, limit=limit) for name in dict.fromkeys(chosen)]


def check_condition_names(names: Sequence[str]) -> None:
    for name in names:
        CONDITIONS.get(name)


def resolve_conditions(scorer: ContinuationScorer, names: Sequence[str]) -> list[Condition]:
    """The conditions to run, t2t first when the model reads text (the gaps' reference).

    Explicitly requested conditions the model cannot take are an error; by default every
    condition it supports runs.
    """
    modalities = scorer.modalities
    if names:
        chosen = [CONDITIONS.get(n) for n in dict.fromkeys(names)]
        for c in chosen:
            if c.modality not in modalities:
                hint = "; wrap a text model as cascade:SPEC" if c.modality == SPEECH else ""
                raise ConfigError(
                    f"probe model {scorer.name!r} cannot take condition {c.name!r} "
                    f"(needs {c.modality!r}, it has {', '.join(sorted(modalities))}){hint}"
                )
        if TEXT in modalities and all(c.name != REFERENCE for c in chosen):
            chosen.insert(0, CONDITIONS.get(REFERENCE))
        return chosen
    return [CONDITIONS.get(n) for n in ORDER if CONDITIONS.get(n).modality in modalities]


def score_item(
    scorer: ContinuationScorer, item: ProbeItem, condition: Condition, *, seed: int
) -> tuple[TokenScores, ...]:
    """The scores of every choice of ``item`` under ``condition``; checks the scorer's answer."""
    try:
        scores = _score(scorer, item, condition, seed=seed)
    except DuplexError:
        raise
    except ValueError as exc:  # e.g. a TokenScores with a positive log-probability
        raise ModelError(f"probe model {scorer.name!r} on {item.id}: {exc}") from exc
    except Exception as exc:  # the model crashed: one failed item, not a stopped run
        raise ModelError(
            f"probe model {scorer.name!r} crashed on {item.id}: {type(exc).__name__}: {exc}"
        ) from exc
    if len(scores) != len(item.choices) or not all(isinstance(s, TokenScores) for s in scores):
        raise ModelError(
            f"probe model {scorer.name!r} returned {len(scores)} scores for "
            f"{len(item.choices)} continuations of {item.id}"
        )
    return tuple(scores)


def score_items(
    scorer: ContinuationScorer,
    items: Sequence[ProbeItem],
    condition: Condition,
    *,
    seed: int,
    batch: bool = True,
) -> list[tuple[TokenScores, ...]]:
    """:func:`score_item` for several items, in one call of the scorer's batch method when it has
    one for the condition's modality (``score_text_batch``, ``score_speech_batch``).

    A batch method that crashes or gives a malformed answer is a :class:`ModelError` naming the
    method; :func:`run_probe` then scores the items one at a time to find the item at fault.
    """
    method = BATCH_METHODS.get(condition.modality)
    fn = getattr(scorer, method, None) if method and batch and len(items) > 1 else None
    if fn is None:
        return [score_item(scorer, it, condition, seed=seed) for it in items]
    if condition.modality == TEXT:
        requests: list[Any] = [(it.context, it.choices) for it in items]
    else:
        requests = [
            (*cond_mod.render(it.context, condition, seed=seed), it.choices) for it in items
        ]
    model = f"probe model {scorer.name!r}: {method}()"
    which = f"{len(items)} items from {items[0].id}"
    try:
        answer = list(fn(requests))
        ok = len(answer) == len(items) and all(
            len(scores) == len(it.choices) and all(isinstance(s, TokenScores) for s in scores)
            for scores, it in zip(answer, items, strict=True)
        )
    except DuplexError:
        raise
    except Exception as exc:
        raise ModelError(f"{model} crashed on {which}: {type(exc).__name__}: {exc}") from exc
    if not ok:
        raise ModelError(f"{model} gave a malformed answer for {which}")
    return [tuple(scores) for scores in answer]


def _score(
    scorer: ContinuationScorer, item: ProbeItem, condition: Condition, *, seed: int
) -> list[TokenScores]:
    if condition.modality == TEXT:
        scores = cast(TextScorer, scorer).score_text(item.context, item.choices)
    elif condition.modality == SPEECH:
        x, rate = cond_mod.render(item.context, condition, seed=seed)
        scores = cast(SpeechScorer, scorer).score_speech(x, rate, item.choices)
    elif condition.modality == SPEECH_BOTH:
        x, rate = cond_mod.render(item.context, condition, seed=seed)
        spoken = [cond_mod.render(c, condition, seed=seed) for c in item.choices]
        scores = cast(SpeechContinuationScorer, scorer).score_speech_continuation(
            x, rate, [s for s, _ in spoken], spoken[0][1]
        )
    else:  # pragma: no cover - the registry holds only the three modalities
        raise ConfigError(f"condition {condition.name!r} has unknown modality")
    return list(scores)


@contextlib.contextmanager
def _naming(set_name: str, items: Sequence[ProbeItem], condition: str) -> Iterator[None]:
    """Re-raise a deliberate error with the set, item(s) and condition it happened on."""
    try:
        yield
    except DuplexError as exc:
        ids = items[0].id if len(items) == 1 else f"{items[0].id}..{items[-1].id}"
        where = f"probe set {set_name!r}, item {ids}, condition {condition}"
        exc.within(where)
        raise


def _score_chunk(
    scorer: ContinuationScorer,
    set_name: str,
    chunk: Sequence[ProbeItem],
    condition: Condition,
    config: ProbeConfig,
    failures: list[dict[str, str]],
) -> list[tuple[TokenScores, ...] | None]:
    """Scores of each item of ``chunk``, ``None`` for an item the model failed on (recorded in
    ``failures`` with its reason). A failed batch is scored again one item at a time, so that
    only the items at fault are lost; if none is, the batch method itself is broken and its
    error stops the run."""
    batch_error: ModelError | None = None
    if config.batch_size > 1 and len(chunk) > 1:
        try:
            with _naming(set_name, chunk, condition.name):
                return list(score_items(scorer, chunk, condition, seed=config.seed))
        except ModelError as exc:
            batch_error = exc
    out: list[tuple[TokenScores, ...] | None] = []
    for item in chunk:
        try:
            with _naming(set_name, [item], condition.name):
                out.append(score_item(scorer, item, condition, seed=config.seed))
        except ModelError as exc:
            where = {"set": set_name, "id": item.id, "condition": condition.name}
            failures.append({**where, "reason": str(exc)})
            out.append(None)
    if batch_error is not None and None not in out:
        raise batch_error
    return out


def _without_failed(
    by_set: dict[str, dict[str, list[ItemScores]]], failures: Sequence[dict[str, str]]
) -> dict[str, dict[str, list[ItemScores]]]:
    """Items the model failed on under any condition are left out of all of them, so that every
    condition is compared on the same items; a set with no item left is left out. If nothing is
    left at all, the first failure is the run's error."""
    if not failures:
        return by_set
    out: dict[str, dict[str, list[ItemScores]]] = {}
    for set_name, per_cond in by_set.items():
        failed = {f["id"] for f in failures if f["set"] == set_name}
        kept = {c: [it for it in its if it.item_id not in failed] for c, its in per_cond.items()}
        if all(kept.values()):
            out[set_name] = kept
    if not out:
        raise ModelError(
            f"the model failed on every item ({len(failures)} failures); first: "
            f"{failures[0]['reason']}"
        )
    return out


def _chunks(items: Sequence[ProbeItem], size: int) -> list[Sequence[ProbeItem]]:
    return [items[k : k + size] for k in range(0, len(items), max(1, size))]


def run_probe(
    config: ProbeConfig,
    *,
    scorer: ContinuationScorer | None = None,
    on_progress: Progress | None = None,
) -> ProbeRun:
    """Score every item of the chosen sets under every chosen condition and summarise."""
    sets = load_sets(config.sets, config.limit)
    check_condition_names(config.conditions)
    if scorer is None:
        scorer = load_scorer(config.model, threads=config.threads)
    chosen = resolve_conditions(scorer, config.conditions)
    total = sum(len(s.items) for s in sets) * len(chosen)
    done = 0
    by_set: dict[str, dict[str, list[ItemScores]]] = {}
    records: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    seconds = dict.fromkeys((c.name for c in chosen), 0.0)
    cpu = dict.fromkeys((c.name for c in chosen), 0.0)
    rendering = dict.fromkeys((c.name for c in chosen), 0.0)
    counts = dict.fromkeys((c.name for c in chosen), 0)
    for probe_set in sets:
        per_cond: dict[str, list[ItemScores]] = {}
        for condition in chosen:
            results: list[ItemScores] = []
            for chunk in _chunks(probe_set.items, config.batch_size):
                if condition.spoken:  # the voice is cached; its cost is not the model's
                    start = time.perf_counter()
                    for item in chunk:
                        with _naming(probe_set.name, [item], condition.name):
                            cond_mod.render(item.context, condition, seed=config.seed)
                    rendering[condition.name] += time.perf_counter() - start
                start, start_cpu = time.perf_counter(), time.process_time()
                scored = _score_chunk(scorer, probe_set.name, chunk, condition, config, failures)
                seconds[condition.name] += time.perf_counter() - start
                cpu[condition.name] += time.process_time() - start_cpu
                counts[condition.name] += len(chunk)
                for item, scores in zip(chunk, scored, strict=True):
                    if scores is not None:
                        results.append(ItemScores(item.id, item.label, scores))
                        records.append(_record(probe_set.name, item, condition, scores))
                    done += 1
                    if on_progress is not None:
                        on_progress(f"{probe_set.name}/{condition.name}", done, total)
            per_cond[condition.name] = results
        by_set[probe_set.name] = per_cond
    by_set = _without_failed(by_set, failures)
    rows = summarize(by_set, [c.name for c in chosen], {s.name: s for s in sets}, seed=config.seed)
    _add_wer(rows, [r for r in records if r["set"] in by_set], sets)
    timing: dict[str, dict[str, float | None]] = {
        name: {
            "seconds": round(seconds[name], 3),
            # CPU seconds of the whole process (all threads): wall time is only meaningful on an
            # otherwise idle machine, CPU time shows the cost when the cores are shared.
            "cpu_seconds": round(cpu[name], 3),
            # Speaking the contexts (TTS, cached on disk), outside ``seconds``.
            "render_seconds": round(rendering[name], 3),
            "items": counts[name],
            "items_per_minute": round(60.0 * counts[name] / seconds[name], 1)
            if seconds[name] > 0
            else None,
        }
        for name in seconds
    }
    provenance = _provenance(config, scorer, sets, chosen)
    return ProbeRun(config, rows, records, provenance, timing, failures)


def summarize(
    by_set: dict[str, dict[str, list[ItemScores]]],
    condition_names: Sequence[str],
    set_info: dict[str, ProbeSet] | None = None,
    *,
    seed: int = 0,
    n_resamples: int = metrics.N_RESAMPLES,
) -> list[dict[str, Any]]:
    """One row per (set, condition), plus pooled ``all`` rows when there are several sets."""
    groups = dict(by_set)
    if len(by_set) > 1:
        groups[ALL] = {c: [it for per in by_set.values() for it in per[c]] for c in condition_names}
    rows: list[dict[str, Any]] = []
    for set_name, per_cond in groups.items():
        n = len(next(iter(per_cond.values())))
        idx = metrics.resample_indices(n, seed=seed, n_resamples=n_resamples)
        reference = per_cond.get(REFERENCE)
        for name in condition_names:
            items = per_cond[name]
            row: dict[str, Any] = {
                "set": set_name,
                "condition": name,
                "items": len(items),
                "comparisons": sum(len(it.scores) - 1 for it in items),
                "primary_rule": set_info[set_name].info.primary_rule
                if set_info and set_name in set_info
                else None,
                "nll": metrics.mean_nll(items, idx).to_json(),
            }
            for rule in metrics.RULES:
                row[f"acc_{rule}"] = metrics.accuracy(items, rule, idx).to_json()
            if reference is not None and name != REFERENCE:
                for rule in metrics.RULES:
                    row[f"gap_{rule}"] = metrics.gap(reference, items, rule, idx).to_json()
                row["nll_shift"] = metrics.nll_shift(reference, items, idx).to_json()
            rows.append(row)
    return rows


def _record(
    set_name: str, item: ProbeItem, condition: Condition, scores: Sequence[TokenScores]
) -> dict[str, Any]:
    heard = next((s.context_text for s in scores if s.context_text is not None), None)
    return {
        "set": set_name,
        "id": item.id,
        "condition": condition.name,
        "label": item.label,
        "context_heard": heard,
        "choices": [
            {"tokens": s.n, "mean_nll": round(s.mean_nll, 6), "logprob_sum": round(s.total, 6)}
            for s in scores
        ],
    }


def _add_wer(
    rows: list[dict[str, Any]], records: list[dict[str, Any]], sets: list[ProbeSet]
) -> None:
    """Context WER of what a cascade heard, per (set, condition), pooled over words."""
    contexts = {(s.name, it.id): it.context for s in sets for it in s.items}
    tally: dict[tuple[str, str], list[int]] = {}
    for rec in records:
        if rec["context_heard"] is None:
            continue
        edits, words = word_errors(contexts[(rec["set"], rec["id"])], rec["context_heard"])
        for key in ((rec["set"], rec["condition"]), (ALL, rec["condition"])):
            t = tally.setdefault(key, [0, 0])
            t[0] += edits
            t[1] += words
    for row in rows:
        counts = tally.get((row["set"], row["condition"]))
        row["context_wer"] = round(counts[0] / counts[1], 4) if counts and counts[1] else None


def _provenance(
    config: ProbeConfig,
    scorer: ContinuationScorer,
    sets: list[ProbeSet],
    chosen: list[Condition],
) -> dict[str, Any]:
    from duplex.provenance import environment

    spoken = any(c.spoken for c in chosen)
    tts_info: dict[str, Any] | None = None
    if spoken:
        from duplex.speech.tts import tts_provenance

        tts_info = tts_provenance()
    return {
        "model_spec": config.model,
        "model": scorer.describe(),
        "sets": [s.describe() for s in sets],
        "limit_rule": "lowest sha256(id) per set" if config.limit else None,
        "conditions": {c.name: c.describe() for c in chosen},
        "render_version": cond_mod.RENDER_VERSION if spoken else None,
        "render_pad_s": cond_mod.PAD_S if spoken else None,
        "tts": tts_info,
        "seeds": {"noise": config.seed, "bootstrap": config.seed},
        "bootstrap": {"resamples": metrics.N_RESAMPLES, "level": metrics.LEVEL, "unit": "item"},
        "rules": {
            "mean": "mean token NLL of the continuation, plausible strictly lower",
            "sum": "summed log-likelihood of the continuation, plausible strictly higher",
        },
        "environment": environment(),
    }


def write_results(run: ProbeRun, out: Path) -> Path:
    """``out/probe.json`` (written whole, atomically); returns its path."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "probe.json"
        write_text(
            path, json.dumps(run.to_json(), indent=1, allow_nan=False) + "\n", what=path.name
        )
    except OSError as exc:
        raise ResultsError(f"cannot write probe results to {out}: {exc.strerror or exc}") from exc
    return path
