"""Lock-step models that step many sessions at once: one batched forward per frame.

A :class:`BatchLockstepModel` opens a :class:`BatchLockstepSession` of ``capacity`` slots. A slot
holds one scenario item's session at a time: :meth:`~BatchLockstepSession.join` starts a session in
a free slot (from scratch, exactly as :meth:`LockstepModel.open` would), each
:meth:`~BatchLockstepSession.step` advances the slots it is given frames for by one frame in one
forward pass, and :meth:`~BatchLockstepSession.leave` ends the session in a slot, which the next
item may then join. Sessions of different lengths therefore leave the batch as they end and the
batch stays full while items remain (continuous batching).

The contract that makes a batched run comparable with single runs: a session's output depends on
its own :class:`SessionInfo` and input frames only, never on which slot it sits in, which other
sessions share its steps or when they joined (sampling draws from a per-session generator seeded
from the session's info). Floating point may differ in the last bits, because a batched matrix
product may sum in another order; models document their tolerance.

Every batch model is also a plain lock-step model: :meth:`BatchLockstepModel.open` is a batch of
one, so ``run``, ``serve`` and ``live`` need nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from duplex.audio import Samples
from duplex.models.base import LockstepModel, LockstepSession, SessionInfo, StepOutput


class BatchLockstepSession(ABC):
    """``capacity`` slots stepped together; see the module docstring for the protocol."""

    capacity: int = 1

    @abstractmethod
    def join(self, slot: int, info: SessionInfo) -> None:
        """Start a new session for one scenario item in the free slot ``slot``."""

    @abstractmethod
    def step(self, frames: Mapping[int, Samples]) -> dict[int, StepOutput]:
        """One batched forward: every slot in ``frames`` consumes its frame and returns one.

        Slots not in ``frames`` do not advance. Raising fails every session of this step.
        """

    @abstractmethod
    def leave(self, slot: int) -> None:
        """The session in ``slot`` has ended; the slot is free for the next :meth:`join`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the batch's state."""


class BatchLockstepModel(LockstepModel):
    #: the largest ``capacity`` :meth:`open_batch` accepts
    max_batch: int = 64

    @abstractmethod
    def open_batch(self, capacity: int) -> BatchLockstepSession:
        """A batch of ``capacity`` free slots."""

    def open(self, info: SessionInfo) -> LockstepSession:
        batch = self.open_batch(1)
        batch.join(0, info)
        return _SlotSession(batch)


class _SlotSession(LockstepSession):
    """One session as a batch of one."""

    def __init__(self, batch: BatchLockstepSession) -> None:
        self._batch = batch
        self._open = True

    def step(self, frame: Samples) -> StepOutput:
        return self._batch.step({0: frame})[0]

    def close(self) -> None:
        if self._open:
            self._open = False
            self._batch.leave(0)
            self._batch.close()
