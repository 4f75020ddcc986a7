import asyncio
import itertools

import pytest

from duplex.events import ModelFailed, ModelText
from duplex.simulator.session import SessionFailed, SessionOptions, run_lockstep, run_realtime
from duplex.timeline import no_compute
from tests.simulator.fakes import Beeper, item, onset

F = 1920


def test_lockstep_output_of_step_n_is_heard_from_the_end_of_frame_n() -> None:
    rec = run_lockstep(Beeper(at_step=5), item(), SessionOptions(stopwatch=no_compute()))
    assert rec.model.size == rec.user.size
    assert onset(rec.model) == 6 * F
    assert any(isinstance(e, ModelText) and e.text == "tick" and e.at == F for e in rec.events)


def test_lockstep_puts_compute_time_on_the_timeline() -> None:
    # A stopwatch that reports 0.9 s for step 2 and nothing for the others: everything from step 2
    # on is heard 0.9 s later than a compute-free model would be heard, as in real time.
    ticks = itertools.count()
    times = {}
    t = 0.0
    for k in range(200):
        times[2 * k] = t
        if k == 2:
            t += 0.9
        times[2 * k + 1] = t

    def watch() -> float:
        return times[next(ticks)]

    rec = run_lockstep(Beeper(at_step=5), item(), SessionOptions(stopwatch=watch))
    # Step 2 finishes at 3F + 0.9 s and its (silent) frame plays from then. Steps 3, 4 and 5 have
    # been waiting (their frames were ready at 4F, 5F, 6F) and run at once; their silent frames
    # are not queued, so the beep of step 5 plays right after step 2's frame, at 4F + 0.9 s: the
    # model is 0.9 s behind, as it would be in real time.
    assert onset(rec.model) == 4 * F + int(0.9 * 24000)
    assert rec.timings["compute_s_max"] == pytest.approx(0.9)


def test_lockstep_crash_is_a_session_failure_with_the_partial_recording() -> None:
    with pytest.raises(SessionFailed, match=r"model crashed at .*RuntimeError: boom") as info:
        run_lockstep(Beeper(at_step=0, crash_at=10), item(), SessionOptions(stopwatch=no_compute()))
    rec = info.value.recording
    assert onset(rec.model) == F and rec.model[10 * F] == 0.5 and rec.model[11 * F + 10] == 0
    assert isinstance(rec.events[-1], ModelFailed)


def test_realtime_agrees_with_lockstep_within_one_frame() -> None:
    it = item(1.5)
    lock = run_lockstep(Beeper(at_step=5), it, SessionOptions(stopwatch=no_compute()))
    real = asyncio.run(run_realtime(Beeper(at_step=5), it, SessionOptions(drain_s=0.2)))
    assert real.model.size == lock.model.size
    assert abs(onset(real.model) - onset(lock.model)) < F
    assert real.timings["send_lateness_ms_p99"] < 20  # loose: CI machines are noisy


def test_realtime_crash_is_recorded() -> None:
    with pytest.raises(SessionFailed, match="boom") as info:
        asyncio.run(run_realtime(Beeper(at_step=0, crash_at=3), item(1.0), SessionOptions()))
    assert any(isinstance(e, ModelFailed) for e in info.value.recording.events)
