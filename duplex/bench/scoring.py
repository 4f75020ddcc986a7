"""Scoring throughput: seconds of model speech scored per wall second (`bench scoring`).

Two kinds of output are scored, each as recordings of suite-item length over a user channel of
real speech with mid-turn pauses: a model that talks all the time (sentences one after another,
0.15-0.5 s apart, like the ``eager`` instrument but with varied words) and one that talks a little
(short replies, about 10 % of the time). All speech is Piper TTS of varied sentences, so Whisper
decodes real words. Each recording goes through what a run does after its session: the output
analysis (VAD, then ASR of the words) and a task's scorer with its details; writing the session
folder is I/O and not timed. Ways (:data:`MODES`): one recording after another
(``run --score-batch 1``); in groups of eight, as a run scores by default (their Whisper windows
share batches, on one-thread decoders side by side); and two what-ifs over the same windows in the
same groups: greedy decoding (beam 1; its words differ, and the share of changed words is
printed), and Whisper's encoder alone, without decoding a word. The encoder reads 30 s whatever a
window holds, so the last is what any decoding speed-up could at most reach with the same model
and windows.

The figure is seconds of *model speech* (the placed TTS clips, known exactly) per wall second,
the median over repeats; audio seconds per wall second, the split by stage and seconds of speech
per process CPU second (which other processes' load hardly moves) come beside it.
Targets (issue 15): >= 30x real time for the talking model on 2 cores. Every repeat scores both
profiles, interleaved, so the machine's other load falls on both; the load average is printed
because the machine may be shared.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from duplex.annotations import Annotations
from duplex.audio import SESSION_RATE, Placed, Samples, mix, resample, trim_silence
from duplex.bench.base import Benchmark
from duplex.metrics.analysis import SCORE_BATCH
from duplex.simulator.recording import Recording
from duplex.timeline import Span, SpeechSpan

#: What the models say: varied lengths and words, written for this benchmark.
MODEL_SENTENCES = (
    "Sure, that sounds good to me.",
    "Let me think about it for a moment, and then I will tell you what I would do.",
    "The train leaves at half past seven, so you should get there a little early.",
    "Honestly, I would pick the blue one; it goes with everything you already have.",
    "Okay.",
    "Right, so the first thing to check is whether the cable is plugged in properly.",
    "That is a great question, and the short answer is that nobody really knows yet.",
    "Yes, absolutely.",
    "If it rains tomorrow we can move the picnic indoors and play board games instead.",
    "I see what you mean.",
    "Most people find that a short walk after lunch helps them focus in the afternoon.",
    "No, I don't think so.",
)
#: What the user says, each a turn in two parts with a pause between them.
USER_TURNS = (
    ("So I was wondering,", "what would you recommend for a weekend trip?"),
    ("My laptop keeps freezing when I", "open more than three programs at once."),
    ("I need a gift for my sister, and", "she likes hiking and old movies."),
    ("Could you explain how", "compound interest actually works?"),
)
#: The share of time the sparse model talks.
SPARSE_SHARE = 0.1
ITEM_S = 15.0


@dataclass(frozen=True)
class Case:
    """Recordings of one kind of output, with how much model speech they hold."""

    name: str
    recordings: tuple[Recording, ...]
    speech_s: float

    @property
    def audio_s(self) -> float:
        return sum(r.duration for r in self.recordings)


@functools.cache
def _speech(text: str) -> Samples:
    from duplex.speech.tts import synthesize

    audio, rate = synthesize(text)
    return trim_silence(resample(audio, rate, SESSION_RATE), SESSION_RATE)


def _user(n: int, rng: np.random.Generator) -> tuple[Samples, Annotations]:
    """User turns (first part, pause, second part), 2-4 s apart, as long as the channel."""
    rate = SESSION_RATE
    placed: list[Placed] = []
    speech: list[SpeechSpan] = []
    pauses: list[Span] = []
    t = float(rng.uniform(0.3, 1.0))
    k = int(rng.integers(len(USER_TURNS)))
    while True:
        texts = USER_TURNS[k % len(USER_TURNS)]
        first, second = (_speech(s) for s in texts)
        pause = float(rng.uniform(0.8, 1.5))
        t2 = t + first.size / rate + pause
        end = t2 + second.size / rate
        if end * rate > n:
            break
        placed += [Placed(first, round(t * rate)), Placed(second, round(t2 * rate))]
        speech += [SpeechSpan(t, t + first.size / rate, texts[0]), SpeechSpan(t2, end, texts[1])]
        pauses.append(Span(t + first.size / rate, t2))
        t, k = end + float(rng.uniform(2.0, 4.0)), k + 1
    return mix(placed, n) * np.float32(0.5), Annotations(tuple(speech), tuple(pauses))


def _model(n: int, share: float, rng: np.random.Generator) -> tuple[Samples, float]:
    """A model channel that talks ``share`` of the time: sentences with gaps; speech seconds."""
    rate = SESSION_RATE
    clips = [_speech(s) for s in MODEL_SENTENCES]
    if share < 0.5:  # a model that talks a little says short things
        clips = [c for c in clips if c.size < 2.5 * rate]
    placed: list[Placed] = []
    t = 0.0
    spoken = 0
    while True:
        clip = clips[int(rng.integers(len(clips)))]
        # The gap before each clip is drawn so that speech fills ``share`` of the time on average
        # (the first one shorter: the model has been talking, or keeping quiet, before).
        if share >= 0.9:
            t += rng.uniform(0.15, 0.5) * rate
        else:
            spread = rng.uniform(0.5, 1.5) if t else rng.uniform(0.0, 1.0)
            t += spread * clip.size * (1.0 - share) / share
        if t >= n:
            break
        clip = clip[: n - round(t)]  # cut at the end, as a session ends mid-sentence
        placed.append(Placed(clip, round(t)))
        spoken += clip.size
        t += clip.size
    return mix(placed, n) * np.float32(0.5), spoken / rate


def build_cases(seconds: float, item_s: float = ITEM_S, *, seed: int = 0) -> list[Case]:
    """The talking and the sparse model, each ``seconds`` of audio in items of ``item_s``."""
    rng = np.random.default_rng(seed)
    n = round(item_s * SESSION_RATE)
    items = max(1, round(seconds / item_s))
    cases = []
    for name, share in (("talking", 1.0), ("sparse", SPARSE_SHARE)):
        recs, speech = [], 0.0
        for _ in range(items):
            user, ann = _user(n, rng)
            model, spoken = _model(n, share, rng)
            recs.append(Recording(SESSION_RATE, user, model, annotations=ann))
            speech += spoken
        cases.append(Case(name, tuple(recs), speech))
    return cases


@dataclass(frozen=True)
class Mode:
    """How a case is scored: ``batch`` recordings analysed together (as ``run --score-batch``),
    and ``words``: "beam" (the fixed decoding: what a run does), "greedy" (the same windows
    with beam 1: a what-if, its words differ) or "none" (Whisper's encoder alone)."""

    batch: int
    words: str = "beam"


#: Recordings a run scores together by default (``run --score-batch``).
RUN_BATCH = SCORE_BATCH
MODES = {
    "one at a time": Mode(1),
    f"in {RUN_BATCH}s (run)": Mode(RUN_BATCH),
    f"in {RUN_BATCH}s, greedy": Mode(RUN_BATCH, "greedy"),
    "encoder alone": Mode(RUN_BATCH, "none"),
}


def score_case(
    case: Case, task_name: str, stages: dict[str, float], mode: Mode = MODES["one at a time"]
) -> tuple[float, float, list[str]]:
    """Score every recording as a run does; returns the wall and the process CPU seconds it took
    and the transcripts, and adds each stage's wall seconds to ``stages``.

    One recording at a time, Whisper decodes on every core; recordings analysed together share
    its batches, on one-thread decoders side by side. The encoder alone (no words) bounds what
    any faster decoding of the same windows could reach: the encoder reads 30 s per window
    whatever the window holds.
    """
    from duplex.metrics import TASKS, analyze_outputs, scoring_workers

    task = TASKS.get(task_name)
    cpu = time.process_time()
    start = time.perf_counter()
    if mode.words != "beam":
        texts = _without_the_run(case, mode, stages)
        return time.perf_counter() - start, time.process_time() - cpu, texts
    analyses = []
    for i in range(0, len(case.recordings), mode.batch):
        group = case.recordings[i : i + mode.batch]
        workers = scoring_workers(len(group))
        analyses += analyze_outputs(group, timings=stages, workers=workers)
    t = time.perf_counter()
    for rec, analysis in zip(case.recordings, analyses, strict=True):
        assert rec.annotations is not None
        task.score(rec, rec.annotations, analysis)
        if task.details is not None:
            task.details(rec, rec.annotations, analysis)
    stages["metrics_s"] = stages.get("metrics_s", 0.0) + time.perf_counter() - t
    texts = [a.transcript.text for a in analyses]
    return time.perf_counter() - start, time.process_time() - cpu, texts


def _without_the_run(case: Case, mode: Mode, stages: dict[str, float]) -> list[str]:
    """The VAD, then greedy decoding or the encoder alone over the windows a run decodes, in
    the run's groups; the transcripts (none for the encoder)."""
    from duplex.metrics import scoring_workers
    from duplex.metrics.analysis import asr_requests
    from duplex.speech import asr, batched

    texts: list[str] = []
    for i in range(0, len(case.recordings), mode.batch):
        group = case.recordings[i : i + mode.batch]
        t = time.perf_counter()
        requests = asr_requests(group)  # what the run's ASR is asked: the same windows
        t1 = time.perf_counter()
        workers = scoring_workers(len(group))
        model = asr.batch_model(workers)
        if mode.words == "greedy":
            found = asr.transcribe_many(model, requests, workers=workers, beam_size=1)
            texts += [tr.text for tr in found]
            stage = "asr_s"
        else:
            _, jobs = asr.plan_jobs(requests)
            batched.decode_parallel(asr.decoder_for(model), jobs, workers, words=False)
            stage = "encoder_s"
        stages["vad_s"] = stages.get("vad_s", 0.0) + t1 - t
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - t1
    return texts


def measure(
    repeats: int = 3,
    seconds: float = 120.0,
    task: str = "pause_handling",
    seed: int = 0,
    item_s: float = ITEM_S,
) -> dict[str, Any]:
    """Median throughput of scoring each case in each mode over ``repeats`` (module doc)."""
    cases = build_cases(seconds, item_s, seed=seed)
    # Load the VAD and Whisper before timing: a run loads them once for all its items.
    for mode in MODES.values():
        score_case(Case("warm-up", cases[1].recordings[:2], 0.0), task, {}, mode)
    load_before = os.getloadavg()
    runs: dict[tuple[str, str], list[tuple[float, float, dict[str, float]]]] = {}
    texts: dict[tuple[str, str], list[str]] = {}
    for _ in range(repeats):
        for case in cases:
            for name, mode in MODES.items():
                split: dict[str, float] = {}
                wall, cpu, texts[case.name, name] = score_case(case, task, split, mode)
                runs.setdefault((case.name, name), []).append((wall, cpu, split))
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        out[case.name] = {name: _summary(case, runs[case.name, name]) for name in MODES}
        beam = texts[case.name, "one at a time"]
        for name, mode in MODES.items():
            if mode.words != "none":
                out[case.name][name]["words_changed"] = _changed(beam, texts[case.name, name])
    return {
        "repeats": repeats,
        "task": task,
        "item_s": item_s,
        "cpu_count": os.cpu_count(),
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "cases": out,
    }


def _changed(reference: list[str], other: list[str]) -> float:
    """Word error rate of ``other`` against the run's transcripts (0: the same words)."""
    from duplex.speech.wer import word_errors

    pairs = [word_errors(a, b) for a, b in zip(reference, other, strict=True)]
    words = sum(n for _, n in pairs)
    return round(sum(e for e, _ in pairs) / words, 4) if words else 0.0


def _summary(case: Case, runs: list[tuple[float, float, dict[str, float]]]) -> dict[str, Any]:
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    keys = sorted({k for r in runs for k in r[2]})
    return {
        "items": len(case.recordings),
        "audio_s": round(case.audio_s, 2),
        "speech_s": round(case.speech_s, 2),
        "wall_s": round(wall, 3),
        "walls_s": [round(r[0], 3) for r in runs],
        "speech_x_realtime": round(case.speech_s / wall, 2),
        "audio_x_realtime": round(case.audio_s / wall, 2),
        "cpu_s": round(cpu, 3),
        # Seconds of model speech per CPU second: what the wall figure would be with one core
        # to itself, whatever the machine's other load; not a promise for two cores.
        "speech_per_cpu_s": round(case.speech_s / cpu, 2),
        "stages_s": {k: round(statistics.median(r[2].get(k, 0.0) for r in runs), 3) for k in keys},
    }


def format(result: dict[str, Any]) -> str:
    """A short table: throughput per case and mode, and where the time went."""
    lines = [
        f"scoring ({result['task']}, items of {result['item_s']:.0f} s), median of "
        f"{result['repeats']} on {result['cpu_count']} cpus; load average "
        f"{_load(result['loadavg_before'])} before, {_load(result['loadavg_after'])} after",
    ]
    for name, modes in result["cases"].items():
        for mode, c in modes.items():
            split = ", ".join(f"{k.removesuffix('_s')} {v:.2f}s" for k, v in c["stages_s"].items())
            lines.append(
                f"  {name:<8} {mode:<18} {c['speech_x_realtime']:6.1f}x real time of model speech "
                f"({c['speech_s']:.0f} s in {c['wall_s']:.2f} s; {c['items']} items, "
                f"{c['audio_x_realtime']:.1f}x of audio); {c['speech_per_cpu_s']:.1f} s of speech "
                f"per cpu second; {split}{_words(c)}"
            )
    return "\n".join(lines)


def _words(c: dict[str, Any]) -> str:
    changed = c.get("words_changed")
    return "" if changed is None else f"; words {100 * changed:.1f} % changed"


def _load(avg: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=120.0, help="audio seconds per model")
    p.add_argument("--item-s", type=float, default=ITEM_S, help="seconds per recording")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--task", default="pause_handling", help="the task that scores them")


def run(options: argparse.Namespace) -> dict[str, Any]:
    return measure(options.repeats, options.seconds, options.task, item_s=options.item_s)


BENCH = Benchmark(
    name="scoring",
    summary="model speech scored per wall second (talking and sparse models), split by stage",
    arguments=arguments,
    run=run,
    format=format,
)
