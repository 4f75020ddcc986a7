"""The examiner in sessions with models of known behaviour, on both clocks (real Silero, Whisper
and Piper: slow)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import numpy as np
import pytest

from duplex.annotations import Conversation
from duplex.conversation import ExaminerSide
from duplex.events import UserCueFired
from duplex.metrics.tasks import load_task_suite
from duplex.models.registry import load_model
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.recording import Recording
from duplex.simulator.session import SessionOptions, run_lockstep, run_realtime
from duplex.timeline import no_compute

pytestmark = pytest.mark.slow

SUITE = """\
suite: talk
version: "1.0"
task: conversation
defaults:
  conversation: {{kind: correction, policy: {policy}, max_turns: 4, max_seconds: {seconds}}}
items:
  - id: c-1
    conversation:
      references: {{old_fact: [Tuesday], new_fact: [Thursday]}}
      goals:
        - goal: "Say the appointment is on Tuesday."
          say: "My dentist appointment is on Tuesday. What should I do before it?"
          reply: "Just brush and floss as usual."
        - goal: "Correct the day to Thursday."
          say: "Oh wait, it's on Thursday, not Tuesday."
          reply: "Got it, Thursday."
          expect: [Thursday]
        - goal: "Ask which day to take off."
          say: "Which day should I take off work?"
          reply: "Take Thursday off."
          bad_reply: "Take Tuesday off."
          expect: [Thursday]
          avoid: [Tuesday]
"""


def item(tmp_path: Path, policy: str = "fast", seconds: int = 40) -> ScenarioItem:
    path = tmp_path / "talk.yaml"
    path.write_text(textwrap.dedent(SUITE.format(policy=policy, seconds=seconds)))
    suite, _task = load_task_suite(str(path))
    return suite.render("c-1")


@pytest.fixture(scope="module")
def examiner() -> ExaminerSide:
    return ExaminerSide("script")


def opts(examiner: ExaminerSide) -> SessionOptions:
    return SessionOptions(stopwatch=no_compute(), user_side=examiner)


def conv(rec: Recording) -> Conversation:
    assert rec.annotations is not None and rec.annotations.conversation is not None
    return rec.annotations.conversation


def test_the_examiner_gives_up_on_a_silent_model(tmp_path: Path, examiner: ExaminerSide) -> None:
    rec = run_lockstep(load_model("silent"), item(tmp_path), opts(examiner))
    c = conv(rec)
    assert c.ended == "model_silent" and [t.goal for t in c.turns] == [0]
    first = c.turns[0]
    assert first.trigger == "opening" and first.start == pytest.approx(0.56)
    # It gives up 8 s (the fast policy's give_up_s) after its line, a frame or two later.
    assert c.ended_at == pytest.approx(first.end + 8.0, abs=0.25)
    assert rec.duration == pytest.approx(c.ended_at) and rec.user.size == rec.model.size
    start = round(first.start * 24000)
    assert np.any(rec.user[start : start + 2400]) and not np.any(rec.user[: start - 1])


def test_a_replier_conversation_reaches_its_goal_and_reruns_identically(
    tmp_path: Path, examiner: ExaminerSide
) -> None:
    model = load_model("replier")
    it = item(tmp_path)
    a, b = run_lockstep(model, it, opts(examiner)), run_lockstep(model, it, opts(examiner))
    c = conv(a)
    assert c.ended == "goal_met"
    assert [t.goal for t in c.turns] == [0, 1, 2, None]
    assert [t.trigger for t in c.turns] == ["opening", "turn_end", "turn_end", "closing"]
    assert "Thursday" in c.turns[2].heard  # it heard the model's reply to the correction
    assert all(not t.cut for t in c.turns)
    assert np.array_equal(a.user, b.user) and np.array_equal(a.model, b.model)
    assert a.annotations == b.annotations
    cues = [e for e in a.events if isinstance(e, UserCueFired)]
    assert [e.name for e in cues] == ["examiner"] * 4
    # each line starts after the model's reply ended plus the policy's silence (0.6 s) + 1-2 frames
    for prev, nxt in zip(c.turns, c.turns[1:], strict=False):
        assert nxt.start - prev.end > 1.0


def test_a_slow_examiner_stops_when_talked_over(tmp_path: Path, examiner: ExaminerSide) -> None:
    # eager starts talking as soon as it hears speech and never stops
    rec = run_lockstep(load_model("eager:delay=0.5"), item(tmp_path, "slow", 15), opts(examiner))
    c = conv(rec)
    first = c.turns[0]
    assert first.cut and first.end - first.start < 2.0  # 0.5 s + 0.6 s of overlap + a frame
    assert c.ended == "max_seconds" and len(c.turns) == 1  # the model never let it speak again


def test_a_fast_examiner_cuts_in_on_a_model_that_will_not_stop(
    tmp_path: Path, examiner: ExaminerSide
) -> None:
    rec = run_lockstep(load_model("eager:delay=0.5"), item(tmp_path, "fast", 40), opts(examiner))
    c = conv(rec)
    assert not c.turns[0].cut  # a fast examiner cannot be interrupted
    assert [t.trigger for t in c.turns[1:3]] == ["interrupt", "interrupt"]
    # the model's turn began during the examiner's line; it is cut 12 s after its onset (the
    # examiner hears a frame late, in 32 ms VAD chunks, and decides on frame boundaries)
    onset = np.flatnonzero(rec.model)[0] / rec.sample_rate
    assert c.turns[0].start < onset < c.turns[0].end
    assert 12.0 <= c.turns[1].start - onset <= 12.3


def test_a_realtime_conversation_with_the_replier(tmp_path: Path, examiner: ExaminerSide) -> None:
    rec = asyncio.run(
        run_realtime(load_model("replier"), item(tmp_path), SessionOptions(user_side=examiner))
    )
    c = conv(rec)
    assert c.ended == "goal_met" and [t.goal for t in c.turns] == [0, 1, 2, None]
    assert rec.timings["clock"] == "realtime" and rec.timings["frames"] < 40 * 25 / 2


def test_the_examiner_with_its_language_model(tmp_path: Path) -> None:
    side = ExaminerSide("smollm2")
    try:
        a = run_lockstep(load_model("replier"), item(tmp_path), opts(side))
        b = run_lockstep(load_model("replier"), item(tmp_path), opts(side))
    finally:
        side.close()
    c = conv(a)
    assert c.ended == "goal_met" and a.annotations == b.annotations
    for t in c.turns[:-1]:  # every goal line is the LM's (checked) or the script's with a reason
        assert t.source == "smollm2" or (t.source == "script" and t.note), t
