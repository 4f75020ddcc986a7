"""Task "live": a live microphone session scored from what happened (no script, so the user's
side comes from the mic).

- *User turns*: Silero segments of the mic channel with gaps shorter than :data:`TURN_GAP` joined;
  the gaps joined inside a turn (at least :data:`MIN_PAUSE` long) are its *pauses*.
- *Response latency* per turn: the model's response to the turn end by the shared rule
  (:func:`duplex.metrics.response.response`: an utterance of at least 1 s starting no earlier than
  0.5 s before the end), if it starts before the user's next turn; its onset minus the turn end.
- *Take-overs*: :func:`duplex.metrics.takeover.windowed_takeover` over the pauses.
- *Interruptions by the user*: a turn that starts while a model utterance is under way; the
  model's *stop latency* is how long that utterance goes on after the turn start.
- *Backchannels*: model utterances shorter than 1 s.
- *Overlap*: seconds where both speak, and how many model utterances overlap a user turn.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Any

from duplex.annotations import Annotations
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import MIN_RESPONSE_S, response, stop_latency, utterances
from duplex.metrics.takeover import merge_gaps, overlap, seconds_inside, windowed_takeover
from duplex.metrics.tasks import Metric, Task, Value
from duplex.simulator.recording import Recording
from duplex.timeline import Span

#: User silences shorter than this stay inside one turn (a breath, a comma, a thinking pause).
TURN_GAP = 0.6
#: Gaps inside a turn at least this long count as pauses the model might take over.
MIN_PAUSE = 0.2


def user_turns(segments: Sequence[Span]) -> tuple[list[Span], list[Span]]:
    """(turns, pauses) from the mic channel's speech segments."""
    turns = merge_gaps(segments, TURN_GAP)
    segs = sorted(segments, key=lambda s: s.start)
    pauses = [
        Span(a.end, b.start)
        for a, b in itertools.pairwise(segs)
        if TURN_GAP > b.start - a.end >= MIN_PAUSE
    ]
    return turns, pauses


def _mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def score_live(
    user_segments: Sequence[Span], model_activity: Sequence[Span], duration: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(metrics, per-turn rows) of one live session; times in seconds on the session clock."""
    turns, pauses = user_turns(user_segments)
    utts = utterances(model_activity)
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    stops: list[float] = []
    for i, turn in enumerate(turns):
        nxt = turns[i + 1].start if i + 1 < len(turns) else float("inf")
        resp = response(model_activity, turn.end)
        if resp is not None and resp.start >= nxt:
            resp = None
        latency = None if resp is None else resp.start - turn.end
        if latency is not None:
            latencies.append(latency)
        interrupted = any(u.start < turn.start < u.end for u in utts)
        stop = stop_latency(model_activity, turn.start) if interrupted else None
        if stop is not None:
            stops.append(stop)
        rows.append(
            {
                "start": turn.start,
                "end": turn.end,
                "response_onset": None if resp is None else resp.start,
                "latency_s": latency,
                "interrupted_model": interrupted,
                "stop_latency_s": stop,
            }
        )
    taken = windowed_takeover(model_activity, pauses)
    overlapping = sum(1 for u in utts if any(overlap(u, t) > 0 for t in turns))
    metrics: dict[str, Any] = {
        "duration_s": duration,
        "user_turns": len(turns),
        "responses": len(latencies),
        "response_rate": len(latencies) / len(turns) if turns else None,
        "latency_mean_s": _mean(latencies),
        "latency_median_s": statistics.median(latencies) if latencies else None,
        "pauses": len(pauses),
        "takeover_to": taken.to,
        "takeover_fraction": taken.fraction,
        "interruptions": len(stops),
        "stop_latency_mean_s": _mean(stops),
        "backchannels": sum(1 for u in utts if u.duration < MIN_RESPONSE_S),
        "overlaps": overlapping,
        "overlap_s": seconds_inside(model_activity, user_segments),
        "user_speech_s": sum(s.duration for s in user_segments),
        "model_speech_s": sum(s.duration for s in model_activity),
    }
    return metrics, rows


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    """The task's scorer: the user's speech is ``annotations.speech`` (VAD on the microphone)."""
    user = [Span(s.start, s.end) for s in annotations.speech]
    metrics, _turns = score_live(user, analysis.activity, recording.duration)
    return metrics


TASK = Task(
    name="live",
    version="1",
    score=score,
    metrics=(
        Metric("latency_median_s", "response latency (median)", "lower", headline=True),
        Metric("response_rate", "turns answered", "higher", headline=True),
        Metric("takeover_fraction", "pauses taken over", "lower", headline=True),
        Metric("stop_latency_mean_s", "stop latency when interrupted", "lower", headline=True),
        Metric("latency_mean_s", "response latency (mean)", "lower"),
        Metric("takeover_to", "any pause taken over", "lower"),
    ),
    summary="a live microphone session: latency, take-overs, stops, backchannels",
    needs_words=False,
    rank=90,
)
