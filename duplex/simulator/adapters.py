"""Adapters between the model interfaces."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator

from duplex.audio import Samples
from duplex.events import ModelAudio, ModelAudioCleared, ModelEvent, ModelFailed, ModelText
from duplex.models.base import (
    LockstepModel,
    LockstepSession,
    SessionInfo,
    StreamingModel,
    StreamingSession,
)
from duplex.timeline import Clock

#: Frames waiting for the model; past this the model is hopelessly behind real time and the
#: session fails rather than buffering without bound.
MAX_PENDING_FRAMES = 250


class _LockstepStream(StreamingSession):
    """Steps a lock-step session on a worker thread as frames arrive in real time.

    The worker thread keeps a slow step from delaying the sender's schedule; each output frame is
    stamped with the session clock when its step completes, which is when a listener could start
    hearing it.
    """

    def __init__(self, session: LockstepSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._inbox: asyncio.Queue[Samples | None] = asyncio.Queue(MAX_PENDING_FRAMES)
        self._outbox: asyncio.Queue[ModelEvent | None] = asyncio.Queue()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lockstep")
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
        loop = asyncio.get_running_loop()
        try:
            while (frame := await self._inbox.get()) is not None:
                out = await loop.run_in_executor(self._pool, self._session.step, frame)
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
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._worker), timeout=5.0)
        self._outbox.put_nowait(None)
        # Why not wait: a step stuck in native code cannot be interrupted; the thread is left to
        # finish on its own rather than hanging the suite.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()


class LockstepAsStreaming(StreamingModel):
    """Any lock-step model, driven as a streaming session on the real-time clock."""

    def __init__(self, model: LockstepModel) -> None:
        self.model = model
        self.spec = model.spec
        self.sample_rate = model.sample_rate

    def describe(self) -> dict[str, object]:
        return self.model.describe()

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        return _LockstepStream(self.model.open(info), clock)
