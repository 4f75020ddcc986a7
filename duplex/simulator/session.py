"""The session loop: stream a scenario item to a model on one clock and record both sides.

Input frame ``n`` holds user samples ``[n*F, (n+1)*F)``; it is delivered when its last sample has
been "spoken", at ``(n+1)*F``. Model output is placed by the :class:`Recorder` at the time it became
available on the session clock.

* Real time: frames are sent at ``t0 + (n+1)*F/rate`` on a :class:`RealtimeClock`, the model runs
  concurrently, output is stamped on arrival.
* Lock-step: a :class:`LockstepModel` is stepped as fast as it computes. Its compute time is put on
  the timeline as a single-server queue would: step ``n`` starts when its frame is ready and the
  previous step is done, and its output is available ``compute`` seconds later. A model that spends
  0.9 s on one step answers 0.9 s later, as it would in real time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.errors import ConfigError, DuplexError, ModelError
from duplex.events import ModelAudio, ModelAudioCleared, ModelFailed, ModelText
from duplex.models.base import LockstepModel, Model, SessionInfo, StepOutput, StreamingSession
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.adapters import as_streaming
from duplex.simulator.playback import user_playback
from duplex.simulator.recorder import Recorder
from duplex.simulator.recording import Recording
from duplex.simulator.user import InlineExecutor, UserSide, UserSideFactory
from duplex.timeline import SPIN_MARGIN_S, RealtimeClock, Stopwatch, measured

FRAME_MS = 80


@dataclass(frozen=True)
class SessionOptions:
    frame_ms: int = FRAME_MS
    #: after the last user frame, how long to keep receiving (real time) before closing
    drain_s: float = 0.5
    connect_timeout_s: float = 30.0
    seed: int = 0
    #: the real-time clock's blocking final wait (see duplex.timeline); 0 when several sessions
    #: share one event loop
    precise_wait_s: float = SPIN_MARGIN_S
    #: how a lock-step driver learns how long a step took (and how a model that budgets its own
    #: compute measures it): no_compute() gives bit-identical reruns
    stopwatch: Stopwatch = field(default_factory=measured, compare=False)
    #: builds the user side of each item; None: the item's audio with its reactive cues
    #: (:func:`~duplex.simulator.playback.user_playback`). A conversation passes its examiner.
    user_side: UserSideFactory | None = field(default=None, compare=False)


class SessionFailed(ModelError):
    """The model failed mid-session; ``recording`` keeps what was captured up to then."""

    def __init__(self, reason: str, recording: Recording) -> None:
        super().__init__(reason)
        self.reason = reason
        self.recording = recording


def _frame_size(model: Model, rate: int, frame_ms: int) -> int:
    if model.sample_rate != rate:
        raise ConfigError(
            f"model {model.spec!r} runs at {model.sample_rate} Hz, the session clock at {rate} Hz"
        )
    return rate * frame_ms // 1000


def _info(item: ScenarioItem, frame_size: int, opts: SessionOptions) -> SessionInfo:
    return SessionInfo(
        item.item_id,
        item.sample_rate,
        frame_size,
        item.annotations,
        opts.seed,
        stopwatch=opts.stopwatch,
    )


def _user_side(
    item: ScenarioItem, frame_size: int, model: Model, opts: SessionOptions
) -> tuple[UserSide, Recorder]:
    user = (opts.user_side or user_playback)(item, frame_size)
    # The recorder's user channel is a view of the user side's: audio placed later (reactive
    # cues, an examiner's turns) shows up in it.
    recorder = Recorder(
        user.user[: user.length],
        item.sample_rate,
        skip_queued_silence=isinstance(model, LockstepModel),
    )
    return user, recorder


def _finish(
    recorder: Recorder, user: UserSide, timings: dict[str, Any], ended: int | None = None
) -> Recording:
    """The recording; ``ended``: the frame before which the user side ended the session (both
    channels are cut there, so they keep one length). A failed session keeps its full length."""
    for event in user.events():
        recorder.add(event)
    recorder.events.sort(key=lambda e: e.at)
    recording = recorder.finish(timings)
    if ended is not None:
        end = min(ended * user.frame, recording.user.size)
        recording.user, recording.model = recording.user[:end], recording.model[:end].copy()
        recording.timings["user_ended_at_s"] = end / recording.sample_rate
    recording.annotations = user.resolved_annotations()
    return recording


class LockstepTrack:
    """One lock-step session's timeline: user frames out, model frames placed after compute.

    Shared by :func:`run_lockstep` and the batched driver (:mod:`duplex.simulator.batch`), so that
    a session's timeline follows the same rule however the model was stepped: step ``n`` starts
    when its frame is ready and the previous step is done, and its output is heard ``compute_s``
    later.
    """

    def __init__(self, model: Model, item: ScenarioItem, opts: SessionOptions) -> None:
        self.item = item
        self.rate = item.sample_rate
        self.frame_size = _frame_size(model, self.rate, opts.frame_ms)
        self.user, self.recorder = _user_side(item, self.frame_size, model, opts)
        # Lock-step: the user side's work is done inline, before its frame is decided.
        self.user.attach(InlineExecutor())
        self.n_frames = self.user.n_frames
        self.info = _info(item, self.frame_size, opts)
        self.compute = np.zeros(self.n_frames)
        self.n = 0  # index of the next input frame
        self.busy_until = 0  # sample at which the model finished its previous step

    @property
    def done(self) -> bool:
        return self.n >= self.n_frames or self.user.ended(self.n)

    def next_frame(self) -> Samples:
        """User frame ``n``, decided from the model audio placed so far (see UserSide)."""
        return self.user.frame_at(self.n, self.recorder.model)

    def place(self, out: StepOutput, compute_s: float) -> None:
        """Put step ``n``'s output on the timeline; a malformed frame fails the session."""
        if out.audio.shape != (self.frame_size,):
            raise SessionFailed(
                f"model returned {out.audio.shape} samples for a {self.frame_size}-sample frame",
                self._partial(),
            )
        ready = (self.n + 1) * self.frame_size
        self.compute[self.n] = compute_s
        self.busy_until = max(ready, self.busy_until) + round(compute_s * self.rate)
        if out.clear:
            self.recorder.add(ModelAudioCleared(self.busy_until))
        self.recorder.add(ModelAudio(self.busy_until, out.audio))
        for text in out.texts:
            self.recorder.add(ModelText(self.busy_until, text))
        self.n += 1

    def crashed(self, exc: BaseException, what: str = "model crashed") -> SessionFailed:
        """The failure of step ``n`` with everything recorded up to it."""
        at = max((self.n + 1) * self.frame_size, self.busy_until)
        reason = f"{type(exc).__name__}: {exc}"
        self.recorder.add(ModelFailed(at, reason))
        return SessionFailed(f"{what} at {at / self.rate:.2f} s: {reason}", self._partial())

    def _partial(self) -> Recording:
        self.user.close()
        return _finish(self.recorder, self.user, {"clock": "lockstep"})

    def finish(self, extra: dict[str, Any] | None = None) -> Recording:
        self.user.close()
        n, compute = self.n, self.compute[: self.n]
        frame_s = self.frame_size / self.rate
        timings = {
            "clock": "lockstep",
            "frame_size": self.frame_size,
            "frames": n,
            "compute_s_total": float(compute.sum()),
            "compute_s_p50": float(np.median(compute)) if n else 0.0,
            "compute_s_max": float(compute.max()) if n else 0.0,
            "compute_rtf": float(compute.sum() / (n * frame_s)) if n else 0.0,
            **(extra or {}),
        }
        return _finish(self.recorder, self.user, timings, n if n < self.n_frames else None)


def run_lockstep(model: LockstepModel, item: ScenarioItem, opts: SessionOptions) -> Recording:
    """Step the model over the whole item as fast as it computes."""
    track = LockstepTrack(model, item, opts)
    watch = opts.stopwatch
    session = model.open(track.info)
    try:
        while not track.done:
            frame = track.next_frame()
            t = watch()
            try:
                out = session.step(frame)
            except Exception as exc:
                raise track.crashed(exc) from exc
            track.place(out, watch() - t)
    finally:
        session.close()
    return track.finish()


async def run_realtime(
    model: Model, item: ScenarioItem, opts: SessionOptions, clock: RealtimeClock | None = None
) -> Recording:
    """Stream the item at wall-clock pace; the model runs concurrently."""
    rate = item.sample_rate
    frame_size = _frame_size(model, rate, opts.frame_ms)
    user, recorder = _user_side(item, frame_size, model, opts)
    n_frames = user.n_frames
    clock = clock or RealtimeClock(rate, precise_wait_s=opts.precise_wait_s)
    streaming = as_streaming(model)
    lateness = np.zeros(n_frames)
    info = _info(item, frame_size, opts)
    deadline = max(opts.connect_timeout_s, streaming.connect_timeout_s + 5.0)
    try:
        async with asyncio.timeout(deadline):
            session = await streaming.connect(info, clock)
    except TimeoutError:
        user.close()
        raise SessionFailed(
            f"no session within {deadline:.0f} s",
            _finish(recorder, user, {"clock": "realtime"}),
        ) from None
    except ModelError as exc:  # refused connection, failed handshake: a failure of this item
        user.close()
        raise SessionFailed(str(exc), _finish(recorder, user, {"clock": "realtime"})) from exc
    failure: list[str] = []
    user_failure: list[str] = []
    sent = [0]
    # The user side's heavy work (an examiner's ASR, LM, TTS) runs here, off the send path.
    work = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="user-side")
    user.attach(work)

    async def send_all(session: StreamingSession) -> None:
        for n in range(n_frames):
            if user.ended(n):
                break
            # Decided before waiting (the model audio it reads is already known, see
            # UserSide), so that reacting to the model costs nothing at the deadline.
            try:
                frame = user.frame_at(n, recorder.model)
            except DuplexError as exc:  # the user side's own backends (an examiner's ASR, TTS)
                user_failure.append(str(exc))
                break
            due = (n + 1) * frame_size / rate
            session.prepare(frame, due)
            await clock.sleep_until(due)
            await session.send(frame)
            lateness[n] = clock.now() - due  # once the bytes are written, not at the wake-up
            sent[0] = n + 1
        await session.finish()

    async def receive_all(session: StreamingSession) -> None:
        async for event in session.events():
            recorder.add(event)
            if isinstance(event, ModelFailed):
                failure.append(event.reason)
                return

    clock.start()

    def end_s() -> float:
        # The sender stops early when the user side ends the session.
        frames = sent[0] if sender.done() else n_frames
        return frames * frame_size / rate + opts.drain_s

    try:
        async with asyncio.TaskGroup() as tg:
            receiver = tg.create_task(receive_all(session), name="receiver")
            sender = tg.create_task(send_all(session), name="sender")
            while not (receiver.done() or (sender.done() and clock.now() >= end_s())):
                await asyncio.wait({receiver}, timeout=max(0.0, min(0.05, end_s() - clock.now())))
            if failure:
                sender.cancel()
            receiver.cancel()
    finally:
        transport = session.stats()
        await session.aclose()
        user.close()
        # A job still running (a language model mid-reply) is left to finish on its own.
        work.shutdown(wait=False, cancel_futures=True)
    # Frames sent, when the user side ended the session early; otherwise all of them (a failed
    # session's unsent frames count as on time, as they always have).
    ended = sent[0] if sent[0] < n_frames and user.ended(sent[0]) else None
    frames = n_frames if ended is None else ended
    late = lateness[:frames] if frames else np.zeros(1)
    timings: dict[str, Any] = {
        "clock": "realtime",
        "frame_size": frame_size,
        "frames": frames,
        "send_lateness_ms_p50": float(np.percentile(late, 50) * 1000),
        "send_lateness_ms_p99": float(np.percentile(late, 99) * 1000),
        "send_lateness_ms_max": float(late.max() * 1000),
        "send_lateness_ms_last": float(late[-1] * 1000) if frames else 0.0,
        **({"transport": transport} if transport else {}),
    }
    recording = _finish(recorder, user, timings, ended)
    if failure:
        raise SessionFailed(f"model failed: {failure[0]}", recording)
    if user_failure:
        raise SessionFailed(f"user side failed: {user_failure[0]}", recording)
    return recording
