"""The live session's task ownership: nothing outlives ``run_live``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from duplex.audio import Samples
from duplex.events import ModelEvent
from duplex.live.devices import FakeClockedIO
from duplex.live.session import LiveOptions, run_live
from duplex.models.base import SessionInfo, StreamingModel, StreamingSession
from duplex.timeline import Clock

RATE = 24000


class _Broken(StreamingSession):
    def __init__(self) -> None:
        self.closed = False

    async def send(self, frame: Samples) -> None:
        pass

    async def events(self) -> AsyncIterator[ModelEvent]:
        await asyncio.sleep(0.05)
        raise RuntimeError("receiver broke")
        yield  # an async generator

    async def aclose(self) -> None:
        self.closed = True


class BrokenReceiver(StreamingModel):
    """A streaming model whose event stream fails shortly after connecting."""

    spec = "broken"

    def __init__(self) -> None:
        self.session = _Broken()

    async def connect(self, info: SessionInfo, clock: Clock) -> StreamingSession:
        return self.session


def test_a_failed_task_ends_the_others_before_its_error_rises(tmp_path: Path) -> None:
    async def main() -> None:
        model = BrokenReceiver()
        device = FakeClockedIO(np.zeros(RATE, np.float32), RATE)
        with pytest.raises(RuntimeError, match="receiver broke"):
            await run_live(
                model, device, LiveOptions(duration_s=5.0), folder=tmp_path, status_out=None
            )
        leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not leaked, leaked
        assert model.session.closed
        assert (tmp_path / "input.wav").exists()  # the recording is kept

    asyncio.run(main())
