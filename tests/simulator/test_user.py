"""The user-side interface: a user side that ends the session early, on both clocks, and the
inline executor that keeps lock-step work deterministic."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.errors import BackendError
from duplex.events import UserCueFired
from duplex.simulator.session import SessionFailed, SessionOptions, run_lockstep, run_realtime
from duplex.simulator.user import InlineExecutor, UserSide
from duplex.timeline import no_compute
from tests.simulator.fakes import Beeper, item


def test_inline_executor_runs_at_once_and_keeps_errors() -> None:
    pool = InlineExecutor()
    assert pool.submit(lambda a, b: a + b, 2, b=3).result() == 5
    failed = pool.submit(lambda: 1 / 0)
    assert failed.done() and isinstance(failed.exception(), ZeroDivisionError)


class Hangup(UserSide):
    """Says a tone in frame 2, and hangs up once it has heard the model (the Beeper) speak."""

    def __init__(self, rate: int, frame: int, n_frames: int) -> None:
        self.rate, self.frame, self.n_frames = rate, frame, n_frames
        self.user = np.zeros(n_frames * frame, np.float32)
        self.length = self.user.size
        self.end: int | None = None
        self.fired: list[UserCueFired] = []
        self.work_seen: list[str] = []

    def attach(self, work: object) -> None:
        self.work_seen.append(type(work).__name__)

    def frame_at(self, n: int, model: Samples) -> Samples:
        if n == 2:
            self.user[n * self.frame : (n + 1) * self.frame] = 0.25
            self.fired.append(UserCueFired(n * self.frame, "tone"))
        heard = model[: max(0, (n - 1) * self.frame)]
        if self.end is None and heard.any():
            self.end = n + 1  # this frame is still said
        return self.user[n * self.frame : (n + 1) * self.frame]

    def ended(self, n: int) -> bool:
        return self.end is not None and n >= self.end

    def events(self) -> list[UserCueFired]:
        return self.fired

    def resolved_annotations(self) -> Annotations:
        return Annotations(speech=(), source="hangup")


def _opts(side: list[Hangup]) -> SessionOptions:
    def make(it, frame):  # type: ignore[no-untyped-def]
        side.append(Hangup(it.sample_rate, frame, 25))
        return side[-1]

    return SessionOptions(stopwatch=no_compute(), user_side=make)


def test_a_user_side_ends_a_lockstep_session_early() -> None:
    made: list[Hangup] = []
    rec = run_lockstep(Beeper(at_step=5), item(seconds=2.0), _opts(made))
    # The beeper's step 5 is heard from (5+1)F; the user hears it one frame late, at frame 8.
    frame = 1920
    assert made[0].work_seen == ["InlineExecutor"]
    assert rec.user.size == rec.model.size == 9 * frame
    assert rec.timings["frames"] == 9 and rec.timings["user_ended_at_s"] == 9 * frame / 24000
    assert np.all(rec.user[2 * frame : 3 * frame] == 0.25) and not rec.user[3 * frame :].any()
    assert rec.annotations is not None and rec.annotations.source == "hangup"
    assert [e.name for e in rec.events if isinstance(e, UserCueFired)] == ["tone"]


@pytest.mark.slow
def test_a_user_side_ends_a_realtime_session_early() -> None:
    made: list[Hangup] = []
    rec = asyncio.run(run_realtime(Beeper(at_step=5), item(seconds=2.0), _opts(made)))
    assert made[0].work_seen == ["ThreadPoolExecutor"]
    assert rec.timings["frames"] < 25  # it did not run the full 2 s
    assert rec.user.size == rec.model.size == rec.timings["frames"] * 1920
    assert rec.annotations is not None and rec.annotations.source == "hangup"


class Broken(Hangup):
    """Its backend fails at frame 3 (an examiner whose TTS broke)."""

    def frame_at(self, n: int, model: Samples) -> Samples:
        if n == 3:
            raise BackendError("tts: voice file missing")
        return super().frame_at(n, model)


def _broken(made: list[Hangup]) -> SessionOptions:
    def make(it, frame):  # type: ignore[no-untyped-def]
        made.append(Broken(it.sample_rate, frame, 25))
        return made[-1]

    return SessionOptions(stopwatch=no_compute(), user_side=make)


def test_a_failing_user_side_fails_the_session_with_its_reason() -> None:
    with pytest.raises(BackendError, match="voice file missing"):
        run_lockstep(Beeper(at_step=50), item(seconds=2.0), _broken([]))
    with pytest.raises(SessionFailed, match="user side failed: tts: voice file missing") as err:
        asyncio.run(run_realtime(Beeper(at_step=50), item(seconds=2.0), _broken([])))
    assert err.value.recording.user.size == 25 * 1920  # the partial recording is kept
