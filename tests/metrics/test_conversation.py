"""The conversation task's exchanges and figures, on timelines with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from duplex.annotations import Annotations, Conversation, ExaminerTurn, Goal
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.conversation import TASK, exchanges, figures, windows
from duplex.metrics.tasks import TASKS
from duplex.simulator.recording import Recording
from duplex.speech.asr import EMPTY, Word
from duplex.timeline import Span

GOALS = (Goal("a", "Line one?"), Goal("b", "Line two?"), Goal("c", "Line three?"))


def conv(*turns: ExaminerTurn, ended: str = "goal_met") -> Conversation:
    return Conversation("daily", "fast", 5, 60.0, GOALS, turns=turns, ended=ended)


TURNS = (
    ExaminerTurn(0, "Line one?", 0.5, 3.0, "opening"),
    ExaminerTurn(1, "Line two?", 7.0, 9.0, "turn_end"),
    ExaminerTurn(2, "Line three?", 14.0, 16.0, "interrupt"),
    ExaminerTurn(None, "Goodbye!", 20.0, 22.0, "closing"),
)


def test_exchanges_find_each_reply_and_its_timing() -> None:
    activity = [
        Span(1.0, 1.4),  # a backchannel inside the first line: not a reply
        Span(3.8, 6.0),  # reply to line one, 0.8 s after it
        Span(8.5, 12.0),  # reply to line two, starting 0.5 s before its end: talks over it
        Span(12.5, 15.5),  # under way when the examiner cuts in at 14.0, goes on 1.5 s
    ]
    w = [(Word(4.0, 4.5, "hello", 1.0),), (Word(9.0, 9.5, "fine", 1.0),), (), ()]
    ex = exchanges(conv(*TURNS), activity, w, [(), (), (), ()], 24.0)
    assert [e.response_start for e in ex] == [3.8, 8.5, None, None]
    assert ex[0].latency_s == pytest.approx(0.8) and ex[1].latency_s == pytest.approx(-0.5)
    assert ex[0].overlap_s == pytest.approx(0.4) and ex[0].talked_over_s == 0.0
    assert ex[1].talked_over_s == pytest.approx(0.5)
    # 8.5-12.0 and 12.5-15.5 are one utterance (a 0.5 s gap is not a new one): under way at 14.0
    assert ex[2].stop_latency_s == pytest.approx(1.5) and ex[2].talked_over_s == pytest.approx(1.5)
    assert ex[0].model_text == "hello" and [e.window_end for e in ex] == [7.0, 14.0, 20.0, 24.0]
    doc = ex[1].to_json()
    assert doc["model_words"] == [["fine", 9.0, 9.5]] and doc["goal"] == 1


def test_figures_of_a_conversation() -> None:
    activity = [Span(3.8, 6.0), Span(9.9, 12.0)]
    c = conv(*TURNS)
    ex = exchanges(c, activity, [()] * 4, [()] * 4, 24.0)
    f = figures(c, ex, activity, 24.0)
    assert f["exchanges"] == 3 and f["goals_reached"] == 3 and f["goal_met"] == 1
    assert f["response_rate"] == round(2 / 3, 4)
    assert f["latency_mean_s"] == pytest.approx((0.8 + 0.9) / 2)
    assert f["examiner_interrupts"] == 1 and f["examiner_cut"] == 0 and f["talked_over"] == 0
    user_s = 2.5 + 2.0 + 2.0 + 2.0
    assert f["model_floor"] == pytest.approx(round(4.3 / (4.3 + user_s), 4))
    assert f["lm_lines"] == 0


def test_a_silent_model_gives_no_responses() -> None:
    c = conv(TURNS[0], ended="model_silent")
    ex = exchanges(c, [], [()], [()], 12.0)
    f = figures(c, ex, [], 12.0)
    assert f["response_rate"] == 0.0 and f["latency_mean_s"] is None and f["goal_met"] == 0
    assert windows(c, 12.0) == [Span(0.5, 12.0)]


def test_the_task_scores_a_recording_and_lists_its_exchanges() -> None:
    rate = 24000
    c = conv(*TURNS[:2])
    rec = Recording(rate, np.zeros(12 * rate, np.float32), np.zeros(12 * rate, np.float32))
    rec.annotations = Annotations(speech=(), conversation=c)
    analysis = OutputAnalysis((Span(3.8, 6.0),), EMPTY, asr_backend=None)
    item_ann = Annotations(speech=())
    metrics = TASK.score(rec, item_ann, analysis)
    assert metrics["exchanges"] == 2 and metrics["response_rate"] == 0.5
    assert TASK.turns is not None and len(TASK.turns(rec, item_ann, analysis)) == 2
    assert TASK.details is not None and TASK.details(rec, item_ann, analysis)["ended"] == "goal_met"
    assert TASKS.get("conversation") is TASK and "conversation" in TASK.cues
