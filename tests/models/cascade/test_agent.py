"""The cascade end to end with its real components, on short synthesised conversations.

Stop latency is checked with ``no_compute`` (the model's own reaction time on the timeline), which
is deterministic. With measured compute the heard stop adds at most the one unit of work (a Piper
call, a few decoded tokens) that was already running when the user started - the agent starts
no new work while the user may be taking the floor; the benchmark reports that figure (0.17-0.24 s
at idle, median 0.216 s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from duplex.metrics import analyze_output
from duplex.models.cascade import CascadeModel
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
from duplex.timeline import Span, no_compute
from tests.models.cascade.conftest import item, open_sessions

pytestmark = pytest.mark.slow

QUESTION = "Can you tell me a story about a dragon?"


def activity(rec: Recording) -> list[Span]:
    return list(analyze_output(rec, asr=None).activity)


def onset_after(spans: list[Span], t: float) -> float:
    return next(s.start for s in spans if s.start >= t)


def test_answers_a_complete_question(cascade: CascadeModel) -> None:
    it = item([(0.5, "What is the capital of France?")], tail=5.0)
    rec = run_lockstep(cascade, it, SessionOptions())
    analysis = analyze_output(rec)
    assert analysis.activity, "no reply"
    latency = analysis.activity[0].start - it.annotations.turn_end
    # a sanity bound only (about 1.2 s on an idle 2-core machine, 3-4 s when it is shared):
    # the benchmark reports the figure
    assert 0.1 < latency < 6.0
    assert "paris" in analysis.transcript.text.lower()


def test_max_words_cuts_the_reply(cascade: CascadeModel) -> None:
    """``cascade:max_words=2``: a system of known lower quality for the arena."""
    it = item([(0.5, "What is the capital of France?")], tail=5.0)
    full = cascade.params
    cascade.params = dataclasses.replace(full, max_words=2)
    try:
        sessions = open_sessions(cascade)
        rec = run_lockstep(cascade, it, SessionOptions(stopwatch=no_compute()))
    finally:
        cascade.params = full
        del cascade.open  # the wrapper open_sessions installed
    said = " ".join(t.text for t in rec.events if type(t).__name__ == "ModelText")
    assert 1 <= len(said.split()) <= 2, said
    assert sessions[0].words_queued == len(said.split())
    assert analyze_output(rec, asr=None).activity, "the two words were not spoken"


def test_stays_silent_through_a_mid_sentence_pause(cascade: CascadeModel) -> None:
    first, rest = "I was thinking that we could", "go to the beach tomorrow."
    it = item([(0.5, first)], tail=0.0)
    pause_start = it.annotations.turn_end
    it = item([(0.5, first), (pause_start + 1.2, rest)], tail=5.0)
    sessions = open_sessions(cascade)
    rec = run_lockstep(cascade, it, SessionOptions(stopwatch=no_compute()))
    spans = activity(rec)
    assert not [s for s in spans if s.start < it.annotations.turn_end], sessions[0].log
    assert spans, "never answered after the pause"


def _interrupted(cascade: CascadeModel, text: str) -> tuple[ScenarioItem, float, Recording, list]:
    plain = item([(0.5, QUESTION)], tail=8.0)
    onset = activity(run_lockstep(cascade, plain, SessionOptions(stopwatch=no_compute())))[0].start
    at = onset + 1.0
    it = item([(0.5, QUESTION), (at, text)], tail=8.0 - at + plain.annotations.turn_end)
    sessions = open_sessions(cascade)
    rec = run_lockstep(cascade, it, SessionOptions(stopwatch=no_compute()))
    return it, at, rec, sessions[0].log


def test_stops_within_300ms_when_interrupted(cascade: CascadeModel) -> None:
    _, at, rec, log = _interrupted(cascade, "Wait, stop, I have another question about that.")
    spans = activity(rec)
    talking = next(s for s in spans if s.start < at < s.end + 0.5)
    assert talking.end - at <= 0.3, log
    assert any("barge-in" in what for _, what in log)


def test_keeps_talking_through_a_user_yeah(cascade: CascadeModel) -> None:
    _, at, rec, log = _interrupted(cascade, "Yeah.")
    assert any("resume" in what for _, what in log), log
    spans = activity(rec)
    assert sum(s.duration for s in spans if s.start > at + 0.3) > 1.0, spans


def _timed_steps(model: CascadeModel) -> list[tuple[float, bool]]:
    """Wrap the sessions ``model`` opens: record (compute seconds, spoke) for every step."""
    steps: list[tuple[float, bool]] = []
    plain_open = model.open

    def open_(info):  # type: ignore[no-untyped-def]
        session = plain_open(info)
        plain_step = session.step

        def step(frame):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            out = plain_step(frame)
            steps.append((time.perf_counter() - t, bool(out.audio.any())))
            return out

        session.step = step  # type: ignore[method-assign]
        return session

    model.open = open_  # type: ignore[method-assign]
    return steps


def _compute_before_reply(steps: list[tuple[float, bool]]) -> float:
    first = next(i for i, (_, spoke) in enumerate(steps) if spoke)
    return sum(c for c, _ in steps[: first + 1])


def test_lockstep_and_realtime_latency_agree_within_150ms(cascade: CascadeModel) -> None:
    # The same compute must land at the same place on both clocks.
    it = item([(0.5, "What is the capital of France?")], tail=6.0)
    end = it.annotations.turn_end
    steps = _timed_steps(cascade)
    try:
        lock = run_lockstep(cascade, it, SessionOptions())
        c_lock = _compute_before_reply(steps)
        steps.clear()
        real = asyncio.run(run_realtime(cascade, it, SessionOptions(drain_s=0.1)))
        c_real = _compute_before_reply(steps)
    finally:
        del cascade.open  # back to the class's own method
    lat_lock, lat_real = onset_after(activity(lock), end), onset_after(activity(real), end)
    # Either the raw latencies agree, or they differ by no more than the two runs' compute did:
    # a shared machine varies the compute between runs (0.57 vs 0.78 s before the reply in one CI
    # run, where the raw latencies still agreed within 0.03 s), and a misplaced output fails both.
    # Measured: raw -0.02..-0.11 s under load ~2, 0.03 s in CI.
    raw = abs(lat_lock - lat_real)
    net = abs((lat_lock - c_lock) - (lat_real - c_real))
    assert min(raw, net) <= 0.15, (lat_lock - end, lat_real - end, c_lock, c_real)


def test_lockstep_reruns_without_compute_are_bit_identical(cascade: CascadeModel) -> None:
    # The cascade budgets its decoding by the session's stopwatch, not the wall clock: with the
    # no-compute stopwatch a rerun must hear (and say) exactly the same thing.
    it = item([(0.5, "What is the capital of Italy?")], tail=4.0)
    first = run_lockstep(cascade, it, SessionOptions(stopwatch=no_compute()))
    second = run_lockstep(cascade, it, SessionOptions(stopwatch=no_compute()))
    assert first.model.any(), "no reply"
    assert first.model.tobytes() == second.model.tobytes()
