"""The lock-step-to-streaming adapter: stepping on a worker thread, and closing it."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.events import ModelAudio
from duplex.models.base import LockstepModel, LockstepSession, SessionInfo, StepOutput
from duplex.simulator.adapters import LockstepAsStreaming
from duplex.timeline import RealtimeClock

RATE, FRAME = 24000, 1920
INFO = SessionInfo("i0", RATE, FRAME, Annotations(speech=()))


class _Session(LockstepSession):
    def __init__(self, model: Gated) -> None:
        self.model = model

    def step(self, frame: np.ndarray) -> StepOutput:
        self.model.steps.append(threading.current_thread().name)
        self.model.stepping.set()
        self.model.gate.wait(10.0)
        return StepOutput(np.full(FRAME, 0.5, np.float32))

    def close(self) -> None:
        self.model.closed += 1


class Gated(LockstepModel):
    """Each step waits until ``gate`` is set; records the thread it ran on and closes."""

    spec = "gated"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.stepping = threading.Event()
        self.steps: list[str] = []
        self.opened_on = ""
        self.closed = 0

    def open(self, info: SessionInfo) -> LockstepSession:
        self.opened_on = threading.current_thread().name
        return _Session(self)


def test_steps_run_on_one_worker_thread_and_output_is_stamped_on_completion() -> None:
    async def main() -> None:
        model = Gated()
        model.gate.set()
        clock = RealtimeClock(RATE)
        clock.start()
        stream = await LockstepAsStreaming(model).connect(INFO, clock)
        for _ in range(3):
            await stream.send(np.zeros(FRAME, np.float32))
        await stream.finish()
        events = [e async for e in stream.events()]
        await stream.aclose()
        await stream.aclose()  # safe twice
        audio = [e for e in events if isinstance(e, ModelAudio)]
        assert len(audio) == 3 and [e.at for e in audio] == sorted(e.at for e in audio)
        # Opened where it is stepped: one thread of its own, never the event loop's.
        assert len(set(model.steps)) == 1 and model.opened_on == model.steps[0]
        assert model.opened_on != threading.current_thread().name
        assert model.closed == 1

    asyncio.run(main())


def test_aclose_absorbs_the_workers_cancellation_mid_step() -> None:
    async def main() -> None:
        model = Gated()
        stream = await LockstepAsStreaming(model).connect(INFO, RealtimeClock(RATE))
        await stream.send(np.zeros(FRAME, np.float32))
        assert await asyncio.to_thread(model.stepping.wait, 5.0)  # a step is running
        await stream.aclose()  # returns: the worker's cancellation is not ours
        model.gate.set()
        assert model.closed == 1

    asyncio.run(main())


def test_aclose_keeps_the_callers_own_cancellation() -> None:
    async def main() -> None:
        model = Gated()
        model.gate.set()
        stream = await LockstepAsStreaming(model).connect(INFO, RealtimeClock(RATE))
        me = asyncio.current_task()
        assert me is not None
        me.cancel()  # we are being cancelled while (or before) we close
        with pytest.raises(asyncio.CancelledError):
            await stream.aclose()
        assert me.uncancel() == 0
        assert model.closed == 1  # and the session is closed nonetheless

    asyncio.run(main())
