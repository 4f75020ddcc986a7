"""Task "conversation": a whole conversation between the examiner and the model, per exchange.

An *exchange* is one examiner turn (``Annotations.conversation.turns``, placed exactly by the
examiner) and what the model did until the examiner's next turn. Timing comes from our VAD on
the model channel (energy-refined, sample accurate) and the examiner's own placement; words come
from the run's ASR on both channels, exchange by exchange (:func:`window_words`). Per exchange
(``ResultRow.turns``):

- ``response_start``/``response_end``: the model's *response*, its first utterance (gaps under
  0.5 s joined, :func:`duplex.metrics.response.utterances`) that starts after the examiner's line
  starts and before its next one, and ends after the line (an utterance inside the line is a
  backchannel, not a reply). Any length counts: "Twelve chairs." is a reply.
- ``latency_s``: its onset minus the end of the examiner's line (negative: it started during it);
- ``overlap_s``: model speech during the examiner's line; ``talked_over_s``: the part of it from
  utterances of 1 s or more (backchannels excluded): the model talking over the user;
- ``stop_latency_s``: how long an utterance under way when the examiner started went on
  (:func:`duplex.metrics.response.stop_latency`); the examiner's cut-ins (``trigger`` interrupt)
  ask whether the model yields;
- ``model_words``/``user_words``: ``[text, start, end]`` in the exchange's window.

Per conversation (``metrics``): ``exchanges`` (examiner turns on goals), ``goals_reached``,
``goal_met`` (1 when the examiner ended because every goal was pursued), ``response_rate``,
``latency_mean_s``/``latency_median_s``, ``overlap_s``, ``talked_over`` (exchanges where the model
talked over the examiner for 0.5 s or more), ``examiner_interrupts``, ``examiner_cut`` (lines the
examiner stopped because it was talked over), ``stop_latency_mean_s``, ``model_floor`` (the model's
share of all speech), ``lm_lines`` (examiner lines its language model wrote, the rest being the
script's) and ``duration_s``. The judge (``duplex-bench judge``, run by ``run`` by default) adds
``fluency`` and ``instruction`` (means of its per-exchange 1-5 scores) and ``task_score`` (1-5).
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from duplex.annotations import Annotations, Conversation
from duplex.audio import Samples
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import MIN_RESPONSE_S, stop_latency, utterances
from duplex.metrics.takeover import overlap, seconds_inside
from duplex.metrics.tasks import Metric, Task, Value
from duplex.simulator.recording import Recording
from duplex.speech.asr import ASR_BACKENDS, Word
from duplex.timeline import Span

#: the suite-file field every item of the task carries
CUE = "conversation"
#: talking over the examiner for this long (backchannels excluded) is taking its floor
TALKED_OVER_S = 0.5


@dataclass(frozen=True)
class Exchange:
    """One examiner turn and the model's behaviour until the next one (seconds)."""

    index: int
    goal: int | None
    trigger: str
    cut: bool
    user_start: float
    user_end: float
    window_end: float
    user_text: str
    response_start: float | None
    response_end: float | None
    latency_s: float | None
    overlap_s: float
    talked_over_s: float
    stop_latency_s: float | None
    user_words: tuple[Word, ...]
    model_words: tuple[Word, ...]

    @property
    def model_text(self) -> str:
        return " ".join(w.text for w in self.model_words)

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "index": self.index,
            "goal": self.goal,
            "trigger": self.trigger,
            "cut": self.cut,
            "user_start": r(self.user_start),
            "user_end": r(self.user_end),
            "window_end": r(self.window_end),
            "user_text": self.user_text,
            "response_start": r(self.response_start),
            "response_end": r(self.response_end),
            "latency_s": r(self.latency_s),
            "overlap_s": r(self.overlap_s),
            "talked_over_s": r(self.talked_over_s),
            "stop_latency_s": r(self.stop_latency_s),
            "user_words": [[w.text, r(w.start), r(w.end)] for w in self.user_words],
            "model_words": [[w.text, r(w.start), r(w.end)] for w in self.model_words],
            "model_text": self.model_text,
        }


def conversation(recording: Recording, annotations: Annotations) -> Conversation | None:
    """The conversation as it happened (the session's annotations), else the item's plan."""
    ann = recording.annotations if recording.annotations is not None else annotations
    return ann.conversation


def windows(conv: Conversation, duration: float) -> list[Span]:
    """Each exchange's window: from the examiner's turn to its next one (or the end)."""
    turns = conv.turns
    return [
        Span(t.start, turns[i + 1].start if i + 1 < len(turns) else duration)
        for i, t in enumerate(turns)
    ]


def window_words(
    x: Samples, rate: int, asr: str | None, window: Span, speech: Sequence[Span]
) -> tuple[Word, ...]:
    """Words of ``x`` inside ``window`` (session times), gated by the ``speech`` spans in it.

    Transcribed window by window: over a whole conversation, Whisper dropped a word after a
    comma pause in two of eight replies of the first trial ("No problem, 12 people it is" came
    out as "No problem. people it is"); a window per exchange kept every word.
    """
    inside = [
        Span(max(s.start, window.start) - window.start, min(s.end, window.end) - window.start)
        for s in speech
        if s.end > window.start and s.start < window.end
    ]
    if asr is None or not inside:
        return ()
    lo, hi = round(window.start * rate), round(window.end * rate)
    words = ASR_BACKENDS.get(asr)(x[lo:hi], rate, speech=inside).words
    return tuple(
        Word(w.start + window.start, w.end + window.start, w.text, w.probability) for w in words
    )


def exchanges(
    conv: Conversation,
    activity: Sequence[Span],
    model_words: Sequence[tuple[Word, ...]],
    user_words: Sequence[tuple[Word, ...]],
    duration: float,
) -> list[Exchange]:
    """Every examiner turn with the model's behaviour until the next one; ``model_words`` and
    ``user_words`` hold each exchange's words."""
    utts = utterances(activity)
    talking = [u for u in utts if u.duration >= MIN_RESPONSE_S]
    out = []
    for i, (t, w) in enumerate(zip(conv.turns, windows(conv, duration), strict=True)):
        line = Span(t.start, t.end)
        reply = next((u for u in utts if t.start <= u.start < w.end and u.end > t.end), None)
        out.append(
            Exchange(
                index=i,
                goal=t.goal,
                trigger=t.trigger,
                cut=t.cut,
                user_start=t.start,
                user_end=t.end,
                window_end=w.end,
                user_text=t.text,
                response_start=None if reply is None else reply.start,
                response_end=None if reply is None else min(reply.end, w.end),
                latency_s=None if reply is None else reply.start - t.end,
                overlap_s=seconds_inside(activity, [line]),
                talked_over_s=sum(overlap(u, line) for u in talking),
                stop_latency_s=stop_latency(activity, t.start),
                user_words=user_words[i],
                model_words=model_words[i],
            )
        )
    return out


def _mean(xs: list[float]) -> float | None:
    return round(statistics.fmean(xs), 4) if xs else None


def figures(
    conv: Conversation, ex: Sequence[Exchange], activity: Sequence[Span], duration: float
) -> dict[str, Value]:
    """The per-conversation figures (see the module doc)."""
    on_goals = [e for e in ex if e.goal is not None]
    latencies = [e.latency_s for e in on_goals if e.latency_s is not None]
    stops = [e.stop_latency_s for e in ex if e.stop_latency_s]
    model_s = sum(s.duration for s in activity)
    user_s = sum(t.end - t.start for t in conv.turns)
    reached = {t.goal for t in conv.turns if t.goal is not None and not t.cut}
    return {
        "exchanges": len(on_goals),
        "goals_reached": len(reached),
        "goal_met": int(conv.ended == "goal_met"),
        "response_rate": (
            round(sum(e.response_start is not None for e in on_goals) / len(on_goals), 4)
            if on_goals
            else None
        ),
        "latency_mean_s": _mean(latencies),
        "latency_median_s": round(statistics.median(latencies), 4) if latencies else None,
        "overlap_s": round(sum(e.overlap_s for e in ex), 4),
        "talked_over": sum(e.talked_over_s >= TALKED_OVER_S for e in ex),
        "examiner_interrupts": sum(e.trigger == "interrupt" for e in ex),
        "examiner_cut": sum(e.cut for e in ex),
        "stop_latency_mean_s": _mean(stops),
        "model_floor": round(model_s / (model_s + user_s), 4) if model_s + user_s else None,
        "lm_lines": sum(t.source != "script" for t in conv.turns),
        "duration_s": round(duration, 4),
    }


# The scorer, the details and the per-exchange rows of one recording share one analysis (the
# user channel's ASR is the costly part): the runner asks for them one after the other.
_memo_lock = threading.Lock()
_memo: tuple[Recording, OutputAnalysis, list[Exchange]] | None = None


def _exchanges(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> tuple[Conversation | None, list[Exchange]]:
    global _memo
    conv = conversation(recording, annotations)
    if conv is None:
        return None, []
    with _memo_lock:
        if _memo is not None and _memo[0] is recording and _memo[1] is analysis:
            return conv, _memo[2]
    rate, asr, spans = (
        recording.sample_rate,
        analysis.asr_backend,
        windows(conv, recording.duration),
    )
    model = [window_words(recording.model, rate, asr, w, analysis.activity) for w in spans]
    user = [
        window_words(recording.user, rate, asr, w, [Span(t.start, t.end)])
        for t, w in zip(conv.turns, spans, strict=True)
    ]
    ex = exchanges(conv, analysis.activity, model, user, recording.duration)
    with _memo_lock:
        _memo = (recording, analysis, ex)
    return conv, ex


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    conv, ex = _exchanges(recording, annotations, analysis)
    if conv is None:
        return {}
    return figures(conv, ex, analysis.activity, recording.duration)


def details(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, str | None]:
    conv = conversation(recording, annotations)
    if conv is None:
        return {}
    notes = [f"{i}: {t.note}" for i, t in enumerate(conv.turns) if t.note]
    return {
        "kind": conv.kind,
        "policy": conv.policy,
        "ended": conv.ended,
        "examiner_notes": "; ".join(notes) or None,
    }


def turns(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> list[dict[str, Any]]:
    return [e.to_json() for e in _exchanges(recording, annotations, analysis)[1]]


TASK = Task(
    name="conversation",
    version="1",
    score=score,
    details=details,
    turns=turns,
    metrics=(
        Metric("task_score", "task score 1-5 (judge)", "higher", headline=True, column="conv task"),
        Metric(
            "instruction",
            "instruction following 1-5 (judge)",
            "higher",
            headline=True,
            column="conv IF",
        ),
        Metric(
            "fluency",
            "turn-taking fluency 1-5 (judge)",
            "higher",
            headline=True,
            column="conv fluency",
        ),
        Metric("response_rate", "examiner turns answered", "higher", headline=True),
        Metric("latency_mean_s", "response latency s (mean)", "lower", headline=True),
        Metric("latency_median_s", "response latency s (median)", "lower"),
        Metric("goal_met", "conversations that reached every goal", "higher"),
        Metric("goals_reached", "goals the examiner reached"),
        Metric("exchanges", "examiner turns on goals"),
        Metric("overlap_s", "model speech over the examiner s"),
        Metric("talked_over", "exchanges where the model talked over the examiner", "lower"),
        Metric("examiner_interrupts", "times the examiner cut a model turn short"),
        Metric("examiner_cut", "examiner lines cut because the model talked over them", "lower"),
        Metric("stop_latency_mean_s", "stop latency s when the examiner starts", "lower"),
        Metric("model_floor", "model's share of the speech"),
        Metric("lm_lines", "examiner lines written by its language model"),
        Metric("duration_s", "conversation length s"),
    ),
    summary="a multi-turn conversation with the examiner: fluency, instruction following, task",
    cues=frozenset({CUE}),
    rank=20,
)
