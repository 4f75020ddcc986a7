"""Benchmark of the cascade: latency, barge-in, backchannels, per-stage compute, suite figures.

Conversations are built here from the Piper voice (so the figures need no suite), and registered
suites are run through :func:`duplex.runner.run_suite`; add a suite by adding a line to
:data:`SUITE_FIGURES`. Each figure is a median over items and ``repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations
from duplex.audio import Placed, mix, resample, trim_silence
from duplex.bench.base import Benchmark
from duplex.metrics import analyze_output
from duplex.models.cascade import CascadeModel, CascadeSession, make_cascade
from duplex.models.registry import parse_spec
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.session import SessionOptions, run_lockstep
from duplex.speech.tts import synthesize
from duplex.timeline import Span, SpeechSpan, Stopwatch, measured, no_compute

RATE = 24000
QUESTIONS = (
    "What is the capital of France?",
    "Can you recommend a good book to read on holiday?",
    "How do I make a cup of tea?",
    "What should I cook for dinner tonight?",
    "Can you tell me a story about a dragon?",
)
INTERRUPTION = "Wait, stop, I have another question about that."
#: a long user turn whose pauses follow unfinished phrases (backchannel opportunities)
MONOLOGUE = (
    ("Last weekend I went hiking with my brother, and", 0.8),
    ("we got completely lost in the forest because", 0.9),
    ("neither of us had brought a map, so", 0.8),
    ("we just kept walking towards the river until", 0.9),
    ("we finally found the trail again in the evening.", 0.0),
)
#: (suite, metric key in summary.json, label): suites run through the runner, when installed
SUITE_FIGURES: list[tuple[str, str, str]] = [
    ("pause_handling", "tor_window", "windowed pause TOR"),
]


def _say(text: str) -> Any:
    x, rate = synthesize(text)
    return trim_silence(resample(x, rate, RATE), RATE)


def build_item(parts: list[tuple[float, str]], tail: float) -> ScenarioItem:
    """Clips of ``text`` starting at the given seconds, then ``tail`` s of silence."""
    clips = [(t, _say(text)) for t, text in parts]
    end = max(t + c.size / RATE for t, c in clips)
    audio = mix([Placed(c, round(t * RATE)) for t, c in clips], round((end + tail) * RATE))
    speech = tuple(
        SpeechSpan(t, t + c.size / RATE, text)
        for (t, c), (_, text) in zip(clips, parts, strict=True)
    )
    name = parts[0][1][:24]
    return ScenarioItem("cascade-bench", "1", name, audio, RATE, Annotations(speech), "")


def monologue_item() -> ScenarioItem:
    parts, t = [], 0.5
    for text, pause in MONOLOGUE:
        parts.append((t, text))
        t += _say(text).size / RATE + pause
    return build_item(parts, tail=4.0)


@dataclass
class Figures:
    latency_s: list[float] = field(default_factory=list)
    stop_s: list[float] = field(default_factory=list)  # measured compute on the timeline
    stop_reaction_s: list[float] = field(default_factory=list)  # no compute: the model's reaction
    stop_missed: int = 0  # interruptions that fell in a gap of the reply (not measured)
    backchannels_per_min: list[float] = field(default_factory=list)
    stage_s: dict[str, float] = field(default_factory=dict)
    stage_calls: dict[str, int] = field(default_factory=dict)
    stage_audio_s: dict[str, float] = field(default_factory=dict)
    session_s: float = 0.0
    suites: dict[str, float | None] = field(default_factory=dict)


def _run(model: CascadeModel, item: ScenarioItem, watch: Stopwatch, figures: Figures) -> list[Span]:
    sessions: list[CascadeSession] = []
    original = CascadeModel.open

    def opener(info: Any) -> CascadeSession:
        session = original(model, info)
        sessions.append(session)
        return session

    model.open = opener  # type: ignore[method-assign]
    try:
        rec = run_lockstep(model, item, SessionOptions(stopwatch=watch))
    finally:
        del model.open
    if watch is not _NO_COMPUTE:
        times = sessions[0].times
        for stage, s in times.seconds.items():
            figures.stage_s[stage] = figures.stage_s.get(stage, 0.0) + s
            figures.stage_calls[stage] = figures.stage_calls.get(stage, 0) + times.calls[stage]
            audio_s = times.audio_s.get(stage, 0.0)
            figures.stage_audio_s[stage] = figures.stage_audio_s.get(stage, 0.0) + audio_s
        figures.session_s += item.duration
    return list(analyze_output(rec, asr=None).activity)


_NO_COMPUTE = no_compute()


def run_cascade_bench(
    spec: str = "cascade",
    repeats: int = 3,
    suite_limit: int = 20,
    suites: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _msg: None)
    model = make_cascade(parse_spec(spec))
    model.spec = spec
    figures = Figures()
    watch = measured()
    questions = [build_item([(0.5, q)], tail=6.0) for q in QUESTIONS]
    for r in range(repeats):
        say(f"repeat {r + 1}/{repeats}: turn-taking latency")
        for it in questions:
            end = it.annotations.turn_end
            spans = [s for s in _run(model, it, watch, figures) if s.start >= end]
            if spans:
                figures.latency_s.append(spans[0].start - end)
        say(f"repeat {r + 1}/{repeats}: interruptions")
        for q in QUESTIONS[:3]:
            plain = build_item([(0.5, q)], tail=8.0)
            for clock, out in ((watch, figures.stop_s), (_NO_COMPUTE, figures.stop_reaction_s)):
                # the interruption comes 1 s into the reply as heard with this clock
                onset = next(iter(_run(model, plain, clock, figures)), None)
                if onset is None:
                    continue
                at = onset.start + 1.0
                it = build_item([(0.5, q), (at, INTERRUPTION)], tail=5.0)
                # Only interruptions that land while the model is heard count: one that falls
                # between two pieces of the reply measures nothing (it used to count as 0 s).
                talking = [s for s in _run(model, it, clock, figures) if s.start < at < s.end]
                if talking:
                    out.append(talking[0].end - at)
                else:
                    figures.stop_missed += 1
        say(f"repeat {r + 1}/{repeats}: monologue backchannels")
        mono = monologue_item()
        spans = _run(model, mono, watch, figures)
        ann = mono.annotations
        bcs = [s for s in spans if s.end <= ann.turn_end + 0.3 and s.duration < 1.0]
        figures.backchannels_per_min.append(len(bcs) * 60.0 / (ann.turn_end - ann.turn_start))
    if suites:
        figures.suites = _suite_figures(spec, suite_limit, model, say)
    model.close()
    return _summary(spec, repeats, figures)


def _suite_figures(
    spec: str, limit: int, model: CascadeModel, say: Callable[[str], None]
) -> dict[str, float | None]:
    from duplex.errors import DuplexError
    from duplex.runner import RunConfig, run_suite

    out: dict[str, float | None] = {}
    for suite, key, _label in SUITE_FIGURES:
        say(f"suite {suite} (first {limit} items)")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                result = run_suite(
                    RunConfig(suite=suite, model=spec, limit=limit, out=Path(tmp) / "run"),
                    model=model,
                )
            except DuplexError as exc:  # a suite not installed yet: no figure, not a crash
                say(f"suite {suite}: {exc}")
                out[f"{suite}.{key}"] = None
                continue
        metric = result.summary.metrics.get(key)
        out[f"{suite}.{key}"] = None if metric is None else metric.mean
    return out


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _summary(spec: str, repeats: int, f: Figures) -> dict[str, Any]:
    stages: dict[str, dict[str, float]] = {}
    for stage, s in f.stage_s.items():
        calls = f.stage_calls[stage]
        row = {"compute_s": s, "calls": calls, "s_per_call": s / calls, "share_of_session": 0.0}
        row["share_of_session"] = s / f.session_s if f.session_s else 0.0
        audio = f.stage_audio_s.get(stage, 0.0)
        if audio:
            row["rtf"] = s / audio  # compute per second of audio heard (vad, asr) or made (tts)
        stages[stage] = row
    if "llm" in stages and f.stage_audio_s.get("tts"):
        stages["llm"]["rtf"] = f.stage_s["llm"] / f.stage_audio_s["tts"]  # per s of reply speech
    return {
        "spec": spec,
        "repeats": repeats,
        # other processes' load inflates every measured compute time; printed with the figures
        "load_average_1m": os.getloadavg()[0],
        "latency_s_median": _median(f.latency_s),
        "latency_s": f.latency_s,
        "stop_s_median": _median(f.stop_s),
        "stop_s": f.stop_s,
        "stop_reaction_s_median": _median(f.stop_reaction_s),
        "stop_reaction_s": f.stop_reaction_s,
        "stop_missed": f.stop_missed,
        "backchannels_per_min_median": _median(f.backchannels_per_min),
        "stages": stages,
        "suites": f.suites,
    }


def format_cascade_bench(r: dict[str, Any]) -> str:
    def fmt(x: float | None, unit: str = " s") -> str:
        return "n/a" if x is None else f"{x:.3f}{unit}"

    lines = [
        f"cascade benchmark ({r['spec']}, {r['repeats']} repeats, medians; "
        f"load average {r.get('load_average_1m', float('nan')):.2f})",
        f"  turn-taking latency (end of speech -> reply onset): {fmt(r['latency_s_median'])}",
        f"  interruption stop latency, measured compute:       {fmt(r['stop_s_median'])}",
        f"  interruption stop latency, model reaction only:    {fmt(r['stop_reaction_s_median'])}",
        f"  (interruptions measured: {len(r['stop_s'])} + {len(r['stop_reaction_s'])}; "
        f"{r['stop_missed']} fell between two pieces of the reply)",
        "  backchannels per minute of monologue:              "
        + fmt(r["backchannels_per_min_median"], ""),
    ]
    for name, value in r["suites"].items():
        lines.append(f"  {name}: {fmt(value, '')}")
    lines.append("  stage       calls  s/call   RTF    share of session time")
    for stage, row in r["stages"].items():
        rtf = row.get("rtf")
        lines.append(
            f"  {stage:<10} {row['calls']:>6} {row['s_per_call']:7.3f} "
            f"{'  n/a ' if rtf is None else f'{rtf:6.3f}'} {row['share_of_session']:7.3f}"
        )
    return "\n".join(lines)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", default="cascade", help="the cascade spec to measure")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--suite-limit", type=int, default=20, help="items per suite")
    p.add_argument("--no-suites", action="store_true", help="skip the suite figures")


BENCH = Benchmark(
    "cascade",
    "the cascade's latency, barge-in, backchannels, stage compute and suite figures",
    _arguments,
    lambda a: run_cascade_bench(
        a.spec,
        repeats=a.repeats,
        suite_limit=a.suite_limit,
        suites=not a.no_suites,
        progress=_log,
    ),
    format_cascade_bench,
)
