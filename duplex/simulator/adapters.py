"""Adapters between the model interfaces: one way to run a lock-step model in real time.

The simulator's real-time driver, ``live`` and ``serve`` all step a lock-step model the same way,
through :class:`StepWorker`: the session is opened and stepped on one worker thread of its own, so
a slow step never delays the sender's schedule nor the event loop's other sessions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator

from duplex.audio import Samples
from duplex.errors import ConfigError
from duplex.events import ModelAudio, ModelAudioCleared, ModelEvent, ModelFailed, ModelText
from duplex.models.base import (
    LockstepModel,
    LockstepSession,
    Model,
    SessionInfo,
    StepOutput,
    StreamingModel,
    StreamingSession,
)
from duplex.timeline import Clock

#: Frames waiting for the model; past this the model is hopelessly behind real time and the
#: session fails rather than buffering without bound.
MAX_PENDING_FRAMES = 250
#: How long closing waits for the stepping task to end once it is cancelled.
CLOSE_TIMEOUT_S = 5.0


class StepWorker:
    """One lock-step session, opened and stepped on a worker thread of its own."""

    def __init__(self, session: LockstepSession, pool: concurrent.futures.ThreadPoolExecutor):
        self.session = session
        self._pool = pool

    @classmethod
    async def open(cls, model: LockstepModel, info: SessionInfo) -> StepWorker:
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lockstep")
        try:
            session = await asyncio.get_running_loop().run_in_executor(pool, model.open, info)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return cls(session, pool)

    async def step(self, frame: Samples) -> StepOutput:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.session.step, frame
        )

    def close(self) -> None:
        # Why not wait: a step stuck in native code cannot be interrupted; the thread is left to
        # finish on its own rather than hanging the suite (or the server).
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


class _LockstepStream(StreamingSession):
    """Steps a lock-step session on its worker thread as frames arrive in real time.

    Each output frame is stamped with the session clock when its step completes, which is when a
    listener could start hearing it.
    """

    def __init__(self, worker: StepWorker, clock: Clock) -> None:
        self._steps = worker
        self._clock = clock
        self._inbox: asyncio.Queue[Samples | None] = asyncio.Queue(MAX_PENDING_FRAMES)
        self._outbox: asyncio.Queue[ModelEvent | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="lockstep-worker")
        self._closed = False

    async def send(self, frame: Samples) -> None:
        try:
            self._inbox.put_nowait(frame)
        except asyncio.QueueFull:
            await self._outbox.put(
                ModelFailed(self._clock.now_samples(), "model fell more than 20 s behind real time")
            )

    async def finish(self) -> None:
        await self._inbox.put(None)

    async def _run(self) -> None:
        try:
            while (frame := await self._inbox.get()) is not None:
                out = await self._steps.step(frame)
                at = self._clock.now_samples()
                if out.clear:
                    await self._outbox.put(ModelAudioCleared(at))
                await self._outbox.put(ModelAudio(at, out.audio))
                for text in out.texts:
                    await self._outbox.put(ModelText(at, text))
        except Exception as exc:  # the model's own failure becomes an event, not a crash
            await self._outbox.put(
                ModelFailed(self._clock.now_samples(), f"{type(exc).__name__}: {exc}")
            )
        finally:
            await self._outbox.put(None)

    async def events(self) -> AsyncIterator[ModelEvent]:
        while (event := await self._outbox.get()) is not None:
            yield event

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._worker.cancel()
        try:
            # asyncio.wait never raises the worker's own cancellation (nor its result) into us;
            # the caller's cancellation does propagate, after the cleanup below.
            await asyncio.wait({self._worker}, timeout=CLOSE_TIMEOUT_S)
        finally:
            self._outbox.put_nowait(None)
            self._steps.close()


class LockstepAsStreaming(StreamingModel):
    """Any lock-step model, driven as a streaming session on the real-time clock."""

    def __init__(self, model: LockstepModel) -> None:
        self.model = model
        self.spec = model.spec
        self.sample_rate = model.sample_rate

    def describe(self) -> dict[str, object]:
        return self.model.describe()

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        return _LockstepStream(await StepWorker.open(self.model, info), clock)


def as_streaming(model: Model) -> StreamingModel:
    """The model as a streaming model: lock-step models through :class:`LockstepAsStreaming`."""
    if isinstance(model, StreamingModel):
        return model
    if isinstance(model, LockstepModel):
        return LockstepAsStreaming(model)
    raise ConfigError(f"model {model.spec!r} is neither lock-step nor streaming")
