"""Small lock-step models with exactly known behaviour, for testing the session loop."""

from __future__ import annotations

import numpy as np

from duplex.annotations import Annotations
from duplex.models.base import LockstepModel, LockstepSession, SessionInfo, StepOutput
from duplex.scenarios.base import ScenarioItem


def item(seconds: float = 2.0, rate: int = 24000) -> ScenarioItem:
    audio = np.zeros(int(seconds * rate), np.float32)
    return ScenarioItem("t", "1", "i0", audio, rate, Annotations(speech=()), "h")


class _Beeper(LockstepSession):
    def __init__(self, info: SessionInfo, at_step: int, crash_at: int | None) -> None:
        self.info, self.at_step, self.crash_at, self.n = info, at_step, crash_at, 0

    def step(self, frame: np.ndarray) -> StepOutput:
        if self.crash_at is not None and self.n == self.crash_at:
            raise RuntimeError("boom")
        out = np.zeros(self.info.frame_size, np.float32)
        if self.n >= self.at_step:
            out[:] = 0.5
        self.n += 1
        return StepOutput(out, ("tick",) if self.n == 1 else ())


class Beeper(LockstepModel):
    """Silent until step ``at_step``, then a constant 0.5 for the rest of the session."""

    def __init__(self, at_step: int = 5, crash_at: int | None = None) -> None:
        self.spec = "beeper"
        self.at_step, self.crash_at = at_step, crash_at

    def open(self, info: SessionInfo) -> LockstepSession:
        return _Beeper(info, self.at_step, self.crash_at)


def onset(x: np.ndarray) -> int:
    nz = np.flatnonzero(x)
    return int(nz[0]) if nz.size else -1
