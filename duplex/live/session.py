"""A live session: the microphone streamed to a model on the real-time clock, its answer played.

Timeline. The device's duplex stream counts samples; captured sample ``k`` and played sample ``k``
are the same instant of the device clock. Both channels are resampled to the session rate with
streaming resamplers whose output stays aligned with their input, then compensated: the mic
channel is shifted earlier by the input latency (the sound reached the microphone that long before
its sample reached us) and the model channel later by the output latency (a played sample is heard
that long after it leaves us). The model channel is what was actually played, not what the model
sent: audio is queued for the speaker as it arrives and played out at the device's pace, so
network bursts, stalls (gaps) and ``ModelAudioCleared`` (queue dropped) are heard as they were.

Frames. User audio is cut into frames of ``frame_ms`` at the session rate and sent as soon as a
frame is complete, which on a real device is when its last sample has been captured; how late
that is against ``(n + 1) * F`` on the session clock is recorded as in the simulator.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
import soxr

from duplex.audio import SESSION_RATE, Samples, fit_length
from duplex.errors import ConfigError
from duplex.events import Event, ModelAudio, ModelAudioCleared, ModelFailed
from duplex.live.devices import AudioIO
from duplex.live.status import LiveStatus
from duplex.models.adapters import LockstepAsStreaming
from duplex.models.base import LockstepModel, Model, SessionInfo, StreamingModel
from duplex.scenarios.base import Annotations
from duplex.simulator.clock import RealtimeClock
from duplex.simulator.recording import Recording

#: Captured blocks waiting for the event loop; beyond this (a device without a clock, or a loop
#: stalled for seconds) the oldest are dropped and counted rather than growing without bound.
MAX_BACKLOG_S = 5.0
#: Queued model audio beyond this much (one frame plus margin) is a backlog; see :class:`Playout`.
MAX_PLAYOUT_QUEUE_S = 0.12
#: Model samples below this magnitude are silence for skipping a backlog.
SILENCE_LEVEL = 1e-4


@dataclass(frozen=True)
class LiveOptions:
    duration_s: float | None = None  # None: until Ctrl-C or the model ends
    frame_ms: int = 80
    seed: int = 0
    connect_timeout_s: float = 30.0
    status_every_s: float = 0.25
    item_id: str = "live"


@dataclass
class LiveResult:
    recording: Recording
    stop_reason: str  # "duration" | "interrupted" | "model failed: ..." | "model ended"


class _Chunks:
    """A growing 1-D float32 signal stored in fixed blocks of ``block`` samples.

    Small per-device-block arrays would cost an object header each and fragment the heap (a
    10-minute session measured 2.6x its payload that way); fixed blocks cost the payload only.
    """

    def __init__(self, block: int = 10 * SESSION_RATE) -> None:
        self.block = block
        self.blocks: list[Samples] = []
        self.size = 0

    def add(self, x: Samples) -> None:
        x = np.asarray(x, np.float32).reshape(-1)
        while x.size:
            used = self.size % self.block
            if used == 0:
                self.blocks.append(np.empty(self.block, np.float32))
            take = min(x.size, self.block - used)
            self.blocks[-1][used : used + take] = x[:take]
            self.size += take
            x = x[take:]

    def array(self) -> Samples:
        """The whole signal; the blocks are released as they are copied (peak: payload + 1)."""
        out = np.empty(self.size, np.float32)
        at = 0
        while self.blocks:
            b = self.blocks.pop(0)
            take = min(self.block, self.size - at)
            out[at : at + take] = b[:take]
            at += take
        self.size = 0
        return out


class _Stream:
    """Streaming resampler between two rates (identity when they match).

    soxr's streams keep their output aligned with their input but hold back a tail, and "HQ"
    returns nothing at all for its first few chunks. On the way to the model every held-back
    sample is latency, so the mic path uses "QQ" (cubic, holds back one sample: speech above the
    new Nyquist rate is weak enough for a model's input; "LQ" releases its output every third
    10 ms block, "HQ" holds 31 ms at 48 -> 24 kHz). The way out to the speaker uses "LQ", primed
    with silence so its start-up gap is not played as a permanent delay: it then returns an even
    3760 samples per 80 ms frame at 24 -> 48 kHz (holds 1.7 ms), where "HQ" alternates 3320 and
    4980 and the speaker's queue runs dry by up to 30 ms (measured: +28 ms on the reply onset).
    The recording of what was played is not latency-critical and uses "HQ".
    """

    def __init__(self, src: int, dst: int, quality: str = "HQ", *, prime: bool = False) -> None:
        self._r = (
            None
            if src == dst
            else soxr.ResampleStream(src, dst, 1, dtype="float32", quality=quality)
        )
        if self._r is not None and prime:
            self._r.resample_chunk(np.zeros(src // 5, np.float32))  # 0.2 s, output discarded

    def push(self, x: Samples, last: bool = False) -> Samples:
        if self._r is None:
            return np.asarray(x, np.float32)
        return np.asarray(self._r.resample_chunk(np.asarray(x, np.float32), last=last), np.float32)


class Playout:
    """The speaker's queue, shared with the device thread: model audio at the device rate.

    When a chunk arrives late the queue has run dry and everything after it plays that much later;
    left alone, every hiccup of the event loop would add to the model's latency for the rest of
    the session. So while more than ``max_queue`` samples are waiting, chunks of digital silence
    (lock-step models send a frame every 80 ms, silent or not) are skipped, not queued: the
    backlog shrinks at the first silence and speech is never cut.
    """

    def __init__(self, max_queue: int) -> None:
        self._lock = threading.Lock()
        self._chunks: collections.deque[Samples] = collections.deque()
        self._offset = 0
        self._queued = 0
        self.max_queue = max_queue
        self.cleared_samples = 0
        self.skipped_silence = 0

    def push(self, x: Samples) -> None:
        if not x.size:
            return
        with self._lock:
            if self._queued > self.max_queue and not np.any(np.abs(x) > SILENCE_LEVEL):
                self.skipped_silence += x.size
                return
            self._chunks.append(x)
            self._queued += x.size

    def clear(self) -> None:
        with self._lock:
            self.cleared_samples += sum(c.size for c in self._chunks) - self._offset
            self._chunks.clear()
            self._offset = 0
            self._queued = 0

    def pull(self, out: Samples) -> None:
        """Fill ``out`` from the queue; what the queue lacks stays silent."""
        filled = 0
        with self._lock:
            while filled < out.size and self._chunks:
                head = self._chunks[0]
                take = min(out.size - filled, head.size - self._offset)
                out[filled : filled + take] = head[self._offset : self._offset + take]
                filled += take
                self._offset += take
                self._queued -= take
                if self._offset == head.size:
                    self._chunks.popleft()
                    self._offset = 0


class _DeviceBridge:
    """What the device thread does per block, and the hand-over to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rate: int, playout: Playout) -> None:
        self.loop = loop
        self.playout = playout
        self.captured: collections.deque[Samples] = collections.deque()
        self.played: collections.deque[Samples] = collections.deque()
        self.wake = asyncio.Event()
        self.max_backlog = int(MAX_BACKLOG_S * rate)
        self.backlog = 0
        self.dropped_samples = 0
        self.closed = False

    def on_block(self, captured: Samples, to_play: Samples) -> None:
        if self.closed:
            return
        if self.backlog > self.max_backlog:  # nobody is reading: keep memory bounded
            self.dropped_samples += captured.size
            return
        self.playout.pull(to_play)
        self.captured.append(captured.copy())
        self.played.append(to_play.copy())
        self.backlog += captured.size
        if not self.wake.is_set():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self.loop.call_soon_threadsafe(self.wake.set)


def as_streaming(model: Model) -> StreamingModel:
    if isinstance(model, StreamingModel):
        return model
    if isinstance(model, LockstepModel):
        return LockstepAsStreaming(model)
    raise ConfigError(f"model {model.spec!r} is neither lock-step nor streaming")


async def run_live(
    model: Model,
    device: AudioIO,
    opts: LiveOptions = LiveOptions(),
    *,
    status_out: TextIO | None = sys.stderr,
    stop: asyncio.Event | None = None,
) -> LiveResult:
    """Run one live session until ``opts.duration_s``, Ctrl-C, ``stop`` or the model's end."""
    streaming = as_streaming(model)
    rate = SESSION_RATE
    if streaming.sample_rate != rate:
        raise ConfigError(f"model {model.spec!r} runs at {streaming.sample_rate} Hz, not {rate}")
    frame = rate * opts.frame_ms // 1000
    clock = RealtimeClock(rate)
    info = SessionInfo(opts.item_id, rate, frame, Annotations(speech=()), opts.seed)
    deadline = max(opts.connect_timeout_s, streaming.connect_timeout_s + 5.0)
    async with asyncio.timeout(deadline):
        session = await streaming.connect(info, clock)

    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    playout = Playout(round(MAX_PLAYOUT_QUEUE_S * device.rate))
    bridge = _DeviceBridge(loop, device.rate, playout)
    mic_in, played_in = _Stream(device.rate, rate, "QQ"), _Stream(device.rate, rate)
    to_device = _Stream(rate, device.rate, "LQ", prime=True)
    user, model_ch = _Chunks(), _Chunks()
    pending = np.zeros(0, np.float32)
    lateness: list[float] = []
    events: list[Event] = []
    audio_chunks = [0, 0]  # ModelAudio events, samples
    reason: list[str] = []
    status = LiveStatus(rate)
    limit = None if opts.duration_s is None else round(opts.duration_s * rate)

    def take_blocks(last: bool = False) -> None:
        nonlocal pending
        # Only what is there now: a device without a clock refills the queue as fast as we drain.
        for _ in range(len(bridge.captured)):
            c = bridge.captured.popleft()
            bridge.backlog -= c.size
            p = bridge.played.popleft()
            u, m = mic_in.push(c), played_in.push(p)
            user.add(u)
            model_ch.add(m)
            status.push(u, m)
            pending = np.concatenate([pending, u]) if pending.size else u
        if last:
            for stream, chunks in ((mic_in, user), (played_in, model_ch)):
                chunks.add(stream.push(np.zeros(0, np.float32), last=True))

    async def pump() -> None:
        nonlocal pending
        n = 0
        while not stop.is_set():
            await bridge.wake.wait()
            bridge.wake.clear()
            take_blocks()
            while pending.size >= frame and (limit is None or n * frame < limit):
                f, pending = pending[:frame].copy(), pending[frame:]
                lateness.append(clock.now() - (n + 1) * frame / rate)
                await session.send(f)
                n += 1
            if limit is not None and n * frame >= limit:
                reason.append("duration")
                stop.set()
            status.show(status_out, clock.now(), every=opts.status_every_s)

    async def receive() -> None:
        async for event in session.events():
            if isinstance(event, ModelAudio):
                audio_chunks[0] += 1
                audio_chunks[1] += event.samples.size
                playout.push(to_device.push(event.samples))
                continue
            if isinstance(event, ModelAudioCleared):
                playout.clear()
            events.append(event)
            if isinstance(event, ModelFailed):
                reason.append(f"model failed: {event.reason}")
                break
        reason.append("model ended")
        stop.set()

    handled = _on_sigint(loop, stop, reason)
    clock.start()
    device.start(bridge.on_block)
    try:
        tasks = [
            asyncio.create_task(pump(), name="live-pump"),
            asyncio.create_task(receive(), name="live-receive"),
        ]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        for t in [*tasks, stopper]:
            t.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
    finally:
        device.stop()
        bridge.closed = True
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
        transport = session.stats()
        await session.aclose()
        if status_out is not None:
            status.show(status_out, clock.now(), every=0.0, final=True)
    take_blocks(last=True)
    lat = np.asarray(lateness or [0.0])
    timings: dict[str, Any] = {
        "clock": "realtime",
        "source": "live",
        "frame_size": frame,
        "frames": len(lateness),
        "send_lateness_ms_p50": float(np.percentile(lat, 50) * 1000),
        "send_lateness_ms_p99": float(np.percentile(lat, 99) * 1000),
        "send_lateness_ms_max": float(lat.max() * 1000),
        "device": device.describe(),
        "device_rate": device.rate,
        "input_latency_s": device.input_latency,
        "output_latency_s": device.output_latency,
        "latency_compensated": True,
        "captured_samples_dropped": bridge.dropped_samples,
        "model_samples_cleared": playout.cleared_samples,
        "model_silence_skipped_s": playout.skipped_silence / device.rate,
        "model_audio_samples_received": audio_chunks[1],
        "model_audio_chunks": audio_chunks[0],
        "stop_reason": reason[0] if reason else "stopped",
        **({"device_stats": device.stats()} if device.stats() else {}),
        **({"transport": transport} if transport else {}),
    }
    user_a, model_a = compensate(
        user.array(), model_ch.array(), rate, device.input_latency, device.output_latency
    )
    if limit is not None:
        user_a, model_a = user_a[:limit], model_a[:limit]
    recording = Recording(rate, user_a, model_a, sorted(events, key=lambda e: e.at), timings)
    return LiveResult(recording, timings["stop_reason"])


def compensate(
    user: Samples, model: Samples, rate: int, input_latency: float, output_latency: float
) -> tuple[Samples, Samples]:
    """Mic earlier by ``input_latency``, played audio later by ``output_latency``; equal lengths."""
    s_in, s_out = round(input_latency * rate), round(output_latency * rate)
    user = user[s_in:]
    n = user.size
    shifted = np.zeros(n, np.float32)
    if n > s_out:
        part = model[: n - s_out]
        shifted[s_out : s_out + part.size] = part
    return np.ascontiguousarray(user), fit_length(shifted, n)


def _on_sigint(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, reason: list[str]) -> bool:
    """Ctrl-C ends the session cleanly (the recording is kept) instead of raising mid-write."""

    def interrupted() -> None:
        reason.append("interrupted")
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True
