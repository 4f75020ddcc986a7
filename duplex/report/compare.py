"""Compare two runs of one suite item by item: the regression gate for checkpoints.

For every metric the two runs share: the mean difference ``candidate - base`` on the items both
runs scored (paired), a paired bootstrap interval of it, a sign-flip permutation p-value
(:mod:`duplex.report.paired`), the metric's direction, and a verdict. A change is *significant*
when p < alpha **and** the interval excludes 0; it is then "better" or "worse" by the direction,
and metrics with no known direction get no verdict.

Gate (:attr:`Comparison.exit_code`): a gated metric fails when it is significantly worse and the
whole interval of its worsening lies beyond the allowed delta (``--max-regression``; headline
metrics are gated with delta 0 by default, others only when named). An item the base scored but
the candidate failed on also fails the gate (``max_new_failures``, default 0): a crash is a
regression that no mean shows.

Runs measured under different conditions are refused (:class:`ResultsError`): suite or task
versions, frame size, VAD/ASR backends and their provenance, or any judge setting. ``force``
compares them anyway and the output says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from duplex.errors import ConfigError, ResultsError
from duplex.registry import did_you_mean
from duplex.report.paired import paired_bootstrap_ci, sign_flip_pvalue
from duplex.report.rundata import Direction, RunData
from duplex.report.runs import directions

ALPHA = 0.05
N_RESAMPLES = 5000
FORMATS = ("table", "markdown", "json")

#: run.json paths whose values must agree (a prefix covers everything under it). Any path that
#: mentions a judge must agree as well.
MUST_MATCH = (
    "config.suite",
    "config.suite_version",
    "config.task",
    "config.task_version",
    "config.frame_ms",
    "config.vad",
    "config.asr",
    "backends",
)
#: Differences shown beside the comparison but allowed (the model is what is being compared).
NOTED = (
    "config.model",
    "config.clock",
    "config.seed",
    "environment.duplex_bench",
    "environment.packages",
)

VERDICTS = ("better", "worse", "no significant change")


@dataclass(frozen=True)
class Difference:
    path: str
    base: Any
    candidate: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.base!r} vs {self.candidate!r}"


@dataclass
class MetricComparison:
    key: str
    label: str
    direction: Direction | None
    headline: bool
    n: int  # items where both runs have a value
    n_base_only: int  # the metric is defined for the item in the base run only
    n_candidate_only: int
    base_mean: float | None
    candidate_mean: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool
    verdict: str | None  # one of VERDICTS, None when the direction is unknown
    allowed: float | None  # the allowed worsening; None = not gated
    regression: bool  # fails the gate


@dataclass
class Side:
    folder: str
    model: str
    suite: str
    suite_version: str
    task: str
    task_version: str
    items_ok: int
    items_failed: int
    step: int | None

    @classmethod
    def of(cls, run: RunData) -> Side:
        cfg = run.config
        ok = run.ok_rows()
        return cls(
            str(run.folder),
            run.model,
            run.suite,
            str(cfg.get("suite_version")),
            run.task,
            str(cfg.get("task_version")),
            len(ok),
            len(run.rows) - len(ok),
            run.step(),
        )


@dataclass
class Comparison:
    base: Side
    candidate: Side
    shared_items: int
    base_only_items: int
    candidate_only_items: int
    new_failures: list[str]
    max_new_failures: int
    metrics: list[MetricComparison]
    refused: list[Difference] = field(default_factory=list)  # non-empty only when forced
    notes: list[Difference] = field(default_factory=list)
    ignored_limits: list[str] = field(default_factory=list)  # --max-regression for other tasks
    alpha: float = ALPHA
    n_resamples: int = N_RESAMPLES
    seed: int = 0

    @property
    def regressions(self) -> list[MetricComparison]:
        return [m for m in self.metrics if m.regression]

    @property
    def failed(self) -> bool:
        return bool(self.regressions) or len(self.new_failures) > self.max_new_failures

    @property
    def exit_code(self) -> int:
        """0: no gated regression; 1: a gated metric is significantly worse beyond its allowed
        delta, or the candidate failed items the base scored. (Errors are 2, in the CLI.)"""
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["forced"] = bool(self.refused)
        doc["regressions"] = [m.key for m in self.regressions]
        doc["exit_code"] = self.exit_code
        return _finite(doc)


def _finite(x: Any) -> Any:
    """NaN and infinities become None: JSON has neither."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: doc}


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def provenance_differences(
    base: RunData, cand: RunData
) -> tuple[list[Difference], list[Difference]]:
    """(differences that make results incomparable, differences merely worth noting)."""
    fb, fc = _flatten(base.run_doc), _flatten(cand.run_doc)
    must = base.identity or MUST_MATCH
    noted_paths = base.noted or NOTED
    refused: list[Difference] = []
    if base.kind != cand.kind:
        refused.append(Difference("kind", base.kind, cand.kind))
    noted: list[Difference] = []
    for path in sorted(set(fb) | set(fc)):
        a, b = fb.get(path), fc.get(path)
        if a == b:
            continue
        if _under(path, must) or "judge" in path.lower():
            refused.append(Difference(path, a, b))
        elif _under(path, noted_paths):
            noted.append(Difference(path, a, b))
    return refused, noted


def parse_assignments(specs: list[str], what: str) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> dict; a malformed one is a :class:`ConfigError` naming it."""
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{what} {spec!r}: expected METRIC=VALUE")
        out[key.strip()] = value.strip()
    return out


def parse_max_regression(specs: list[str]) -> dict[str, float]:
    """``METRIC=DELTA`` or ``TASK.METRIC=DELTA`` (DELTA in the metric's units, >= 0; ``inf``
    ungates a headline metric)."""
    out: dict[str, float] = {}
    for key, value in parse_assignments(specs, "--max-regression").items():
        try:
            delta = float(value)
        except ValueError:
            raise ConfigError(
                f"--max-regression {key}={value}: {value!r} is not a number"
            ) from None
        if not delta >= 0:
            raise ConfigError(f"--max-regression {key}={value}: the allowed worsening must be >= 0")
        out[key] = delta
    return out


def parse_directions(specs: list[str]) -> dict[str, Direction]:
    out = parse_assignments(specs, "--direction")
    for key, value in out.items():
        if value not in ("lower", "higher"):
            raise ConfigError(f"--direction {key}={value}: expected 'lower' or 'higher'")
    return out


def _resolve_limits(
    limits: dict[str, float], task: str, keys: list[str]
) -> tuple[dict[str, float], list[str]]:
    """Limits for this task's metrics, and the qualified ones meant for other tasks."""
    mine: dict[str, float] = {}
    elsewhere: list[str] = []
    for name, delta in limits.items():
        owner, dot, metric = name.rpartition(".")
        if dot and owner != task:
            elsewhere.append(name)
            continue
        if metric not in keys:
            hint = did_you_mean(metric, keys)
            raise ConfigError(
                f"--max-regression {name}: no metric {metric!r} in these {task} runs{hint}"
            )
        mine[metric] = delta
    return mine, elsewhere


def _metric(
    key: str,
    label: str,
    base: dict[str, float],
    cand: dict[str, float],
    direction: Direction | None,
    headline: bool,
    allowed: float | None,
    shared: set[str],
    alpha: float,
    n_resamples: int,
    seed: int,
) -> MetricComparison:
    both = sorted(shared & set(base) & set(cand))
    diffs = [cand[i] - base[i] for i in both]
    n = len(diffs)
    lo, hi = paired_bootstrap_ci(diffs, n_resamples=n_resamples, seed=seed)
    p = sign_flip_pvalue(diffs, seed=seed)
    diff = sum(diffs) / n if n else None
    significant = bool(n) and p < alpha and (lo > 0 or hi < 0)
    verdict: str | None = None
    regression = False
    if direction is not None:
        verdict = "no significant change"
        if significant and diff is not None:
            worse = diff > 0 if direction == "lower" else diff < 0
            verdict = "worse" if worse else "better"
            # The end of the interval nearest to "no change", as a worsening (positive = worse).
            least_worsening = lo if direction == "lower" else -hi
            regression = worse and allowed is not None and least_worsening > allowed
    return MetricComparison(
        key=key,
        label=label,
        direction=direction,
        headline=headline,
        n=n,
        n_base_only=len((shared & set(base)) - set(cand)),
        n_candidate_only=len((shared & set(cand)) - set(base)),
        base_mean=sum(base[i] for i in both) / n if n else None,
        candidate_mean=sum(cand[i] for i in both) / n if n else None,
        diff=diff,
        ci_low=lo if n else None,
        ci_high=hi if n else None,
        p_value=p if n else None,
        significant=significant,
        verdict=verdict,
        allowed=allowed,
        regression=regression,
    )


def compare_runs(
    base: RunData,
    cand: RunData,
    *,
    max_regression: dict[str, float] | None = None,
    direction_overrides: dict[str, Direction] | None = None,
    alpha: float = ALPHA,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    force: bool = False,
    max_new_failures: int = 0,
) -> Comparison:
    """Compare ``cand`` against ``base``; raises :class:`ResultsError` for incomparable runs
    unless ``force``, and :class:`ConfigError` for a limit naming no metric of the runs."""
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    if max_new_failures < 0:
        raise ConfigError(f"--max-new-failures must be >= 0, got {max_new_failures}")
    refused, notes = provenance_differences(base, cand)
    if refused and not force:
        what = "; ".join(str(d) for d in refused[:8])
        more = f" (and {len(refused) - 8} more)" if len(refused) > 8 else ""
        raise ResultsError(
            f"runs measured under different conditions: {what}{more}; "
            "pass --force to compare them anyway"
        )
    ok_b, ok_c = base.ok_rows(), cand.ok_rows()
    shared = set(ok_b) & set(ok_c)
    new_failures = sorted(i for i in ok_b if cand.rows.get(i, {}).get("status") == "failed")
    if not shared and not new_failures:
        raise ResultsError(
            f"{base.folder} and {cand.folder} have no scored item in common; nothing to compare"
        )
    keys = sorted(set(base.metric_keys()) | set(cand.metric_keys()))
    limits, elsewhere = _resolve_limits(max_regression or {}, base.task, keys)
    dirs = directions(base, direction_overrides)
    labels = {k: label for k, label, _d in base.headline}
    for key, delta in limits.items():
        if key not in dirs:
            raise ConfigError(
                f"--max-regression {key}={delta}: no direction is known for {key!r}; "
                f"add --direction {key}=lower or --direction {key}=higher"
            )
    order = [k for k in labels if k in keys] + [k for k in keys if k not in labels]
    metrics = [
        _metric(
            key,
            labels.get(key, key),
            base.values(key),
            cand.values(key),
            dirs.get(key),
            key in labels,
            limits.get(key, 0.0 if key in labels else None),
            shared,
            alpha,
            n_resamples,
            seed,
        )
        for key in order
    ]
    return Comparison(
        base=Side.of(base),
        candidate=Side.of(cand),
        shared_items=len(shared),
        base_only_items=len(set(ok_b) - set(ok_c)),
        candidate_only_items=len(set(ok_c) - set(ok_b)),
        new_failures=new_failures,
        max_new_failures=max_new_failures,
        metrics=metrics,
        refused=refused,
        notes=notes,
        ignored_limits=elsewhere,
        alpha=alpha,
        n_resamples=n_resamples,
        seed=seed,
    )


# ---------------------------------------------------------------------------------------- output


def _num(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _ci(m: MetricComparison) -> str:
    if m.ci_low is None:
        return "-"
    return f"[{_num(m.ci_low, True)}, {_num(m.ci_high, True)}]"


def _gate(m: MetricComparison) -> str:
    if m.allowed is None:
        return "-"
    limit = "0" if m.allowed == 0 else f"{m.allowed:g}"
    return f"FAIL (> {limit})" if m.regression else f"ok (<= {limit})"


def _headline(c: Comparison) -> str:
    b, k = c.base, c.candidate
    return (
        f"{b.suite} v{b.suite_version} (task {b.task} v{b.task_version}): "
        f"base {b.model} vs candidate {k.model}"
    )


def _items_line(c: Comparison) -> str:
    line = (
        f"{c.shared_items} items scored in both runs; {c.base_only_items} in the base only, "
        f"{c.candidate_only_items} in the candidate only"
    )
    if c.new_failures:
        shown = ", ".join(c.new_failures[:5]) + (" ..." if len(c.new_failures) > 5 else "")
        line += f"; the candidate failed {len(c.new_failures)} item(s) the base scored: {shown}"
    return line


def _result_line(c: Comparison) -> str:
    if not c.failed:
        return "PASS: no gated metric is significantly worse beyond its allowed delta"
    parts = [
        f"{m.key} worse by {abs(m.diff or 0):.3f} (allowed {m.allowed:g})" for m in c.regressions
    ]
    if len(c.new_failures) > c.max_new_failures:
        parts.append(f"{len(c.new_failures)} new failed item(s) (allowed {c.max_new_failures})")
    return "FAIL: " + "; ".join(parts)


def _method_line(c: Comparison) -> str:
    return (
        f"diff = candidate - base, mean over paired items; 95% paired bootstrap interval "
        f"({c.n_resamples} resamples, seed {c.seed}); two-sided sign-flip permutation p; "
        f"significant when p < {c.alpha:g} and the interval excludes 0; "
        "gated: headline metrics (delta 0) and those given --max-regression"
    )


def format_table(c: Comparison) -> str:
    lines = [_headline(c), f"base: {c.base.folder}", f"candidate: {c.candidate.folder}"]
    if c.refused:
        lines.append("FORCED: runs measured under different conditions were compared:")
        lines += [f"  {d}" for d in c.refused]
    lines += [_items_line(c), ""]
    head = (
        f"{'metric':<28} {'better':<7} {'base':>8} {'cand':>8} {'diff':>8} "
        f"{'95% CI':>19} {'p':>7} {'n':>4}  {'verdict':<22} gate"
    )
    lines.append(head)
    for m in c.metrics:
        name = ("* " if m.headline else "  ") + m.key
        lines.append(
            f"{name[:28]:<28} {m.direction or '?':<7} {_num(m.base_mean):>8} "
            f"{_num(m.candidate_mean):>8} {_num(m.diff, True):>8} {_ci(m):>19} "
            f"{_p(m.p_value):>7} {m.n:>4}  {m.verdict or '-':<22} {_gate(m)}"
        )
    lines += ["", "* headline metric", _method_line(c)]
    lines += [f"note: {d}" for d in c.notes]
    lines += [f"note: --max-regression {k} is for another task, ignored" for k in c.ignored_limits]
    lines.append(_result_line(c))
    return "\n".join(lines)


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def format_markdown(c: Comparison) -> str:
    status = "FAIL" if c.failed else "PASS"
    lines = [
        f"### duplex-bench compare: {status}",
        "",
        f"**{_md_escape(_headline(c))}**",
        "",
        f"- base: `{c.base.folder}`",
        f"- candidate: `{c.candidate.folder}`",
        f"- {_items_line(c)}",
    ]
    if c.refused:
        lines.append("- **forced**: runs measured under different conditions were compared:")
        lines += [f"  - `{_md_escape(str(d))}`" for d in c.refused]
    lines += [
        "",
        "| metric | better | base | candidate | diff | 95% CI | p | n | verdict | gate |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for m in c.metrics:
        name = f"**{m.key}**" if m.headline else m.key
        verdict = m.verdict or "-"
        if m.verdict in ("better", "worse"):
            verdict = f"**{verdict}**"
        cells = [
            name,
            m.direction or "?",
            _num(m.base_mean),
            _num(m.candidate_mean),
            _num(m.diff, True),
            _ci(m),
            _p(m.p_value),
            str(m.n),
            verdict,
            _gate(m),
        ]
        lines.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
    lines += ["", f"**{_md_escape(_result_line(c))}**", ""]
    details = [f"Headline metrics in bold. {_method_line(c)}."]
    details += [f"- note: `{_md_escape(str(d))}`" for d in c.notes]
    lines += ["<details><summary>method and notes</summary>", "", *details, "", "</details>"]
    return "\n".join(lines)


def format_comparison(c: Comparison, fmt: str) -> str:
    if fmt == "table":
        return format_table(c)
    if fmt == "markdown":
        return format_markdown(c)
    if fmt == "json":
        return json.dumps(c.to_json(), indent=2)
    raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
