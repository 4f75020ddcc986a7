"""The user side of a session: whatever produces the user channel, frame by frame.

Frame ``n`` of the user channel is decided from the model audio placed before ``(n - 1) * F``:
the user perceives one frame late, which makes what it reacts to final and the same on both
clocks (see :mod:`duplex.simulator.playback`). Two implementations exist:
:class:`~duplex.simulator.playback.UserPlayback` (pre-rendered audio plus reactive cues) and the
conversation examiner (:mod:`duplex.conversation`), which listens, decides and speaks as it goes.

Heavy work (speech recognition, a language model, speech synthesis) must not run on a real-time
sender's deadline, so a user side hands it to the executor the driver attaches: lock-step runs
it inline (:class:`InlineExecutor`: the result is there in the same frame, nothing on the
timeline depends on how long it took, reruns are identical), real time runs it on a worker thread
and the user side uses the result at the first frame after it is ready.
"""

from __future__ import annotations

import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.events import UserCueFired

if TYPE_CHECKING:
    from duplex.scenarios.base import ScenarioItem


class UserSide(ABC):
    """Produces the user channel of one session.

    ``user`` is the whole channel buffer (``n_frames * frame`` samples); the recorder keeps a view
    of its first ``length`` samples, so audio the user side writes there is what is recorded.
    """

    rate: int
    frame: int
    #: frames the session runs at most
    n_frames: int
    #: samples of the recorded user channel when the session runs all its frames
    length: int
    user: Samples

    def attach(self, work: concurrent.futures.Executor) -> None:  # noqa: B027 - optional hook
        """Where heavy work runs: inline (lock-step) or on a worker thread (real time)."""

    @abstractmethod
    def frame_at(self, n: int, model: Samples) -> Samples:
        """User frame ``n``; ``model`` is the model channel (only ``[0, (n-1)*F)`` is read)."""

    def ended(self, n: int) -> bool:
        """True when the user has finished before frame ``n``: the session stops there."""
        return False

    @abstractmethod
    def events(self) -> list[UserCueFired]:
        """What the user side did, stamped on the session clock."""

    @abstractmethod
    def resolved_annotations(self) -> Annotations:
        """The item's annotations with what actually happened on the user side."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the session held (the driver calls it once the session is over)."""


#: Builds the user side of an item for a frame size; ``SessionOptions.user_side``.
UserSideFactory = Callable[["ScenarioItem", int], UserSide]


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once, in the caller's thread: lock-step determinism."""

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever reads the future, as a pool would
            future.set_exception(exc)
        return future
