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

Memory. Nothing grows with the session's length: the channels go to disk block by block as they
are recorded (:class:`SessionFiles`), so a ten-minute session holds a few blocks of audio.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import soundfile as sf
import soxr

from duplex.annotations import Annotations
from duplex.audio import SESSION_RATE, Samples, read_wav
from duplex.errors import ConfigError
from duplex.events import Event, ModelAudio, ModelAudioCleared, ModelFailed
from duplex.live.devices import AudioIO
from duplex.live.status import LiveStatus
from duplex.models.base import LockstepModel, Model, SessionInfo, StreamingModel
from duplex.simulator.adapters import LockstepAsStreaming
from duplex.simulator.recording import Recording
from duplex.timeline import RealtimeClock

#: Captured blocks waiting for the event loop; beyond this (a device without a clock, or a loop
#: stalled for seconds) the oldest are dropped and counted rather than growing without bound.
MAX_BACKLOG_S = 5.0
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
    """A finished live session; its audio is in ``folder`` (see :class:`SessionFiles`)."""

    folder: Path
    sample_rate: int
    samples: int
    events: list[Event]
    timings: dict[str, Any]
    stop_reason: str  # "duration" | "interrupted" | "model failed: ..." | "model ended"

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate

    def recording(self) -> Recording:
        """Both channels read into memory (short sessions, tests; scoring reads blocks)."""
        user, _ = read_wav(self.folder / "input.wav")
        model, _ = read_wav(self.folder / "output.wav")
        return Recording(self.sample_rate, user, model, list(self.events), dict(self.timings))


class SessionFiles:
    """The session's two channels, latency-compensated and written to disk as they come.

    ``input.wav`` (the mic), ``output.wav`` (what was played) and ``session.wav`` (both, stereo)
    grow block by block, so a session of any length costs a few blocks of memory; ten minutes in
    memory would be 115 MB of float32 and twice that in the copies made to write and score it.
    The mic channel drops its first ``skip_user`` samples (the input latency: the sound reached
    the microphone that long before its sample reached us) and the played channel starts with
    ``delay_model`` samples of silence (the output latency); a pair of samples is written once
    both exist, so the files stay sample-aligned. ``limit`` caps the length.
    """

    NAMES = ("input.wav", "output.wav", "session.wav")

    def __init__(
        self, folder: Path, rate: int, skip_user: int, delay_model: int, limit: int | None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._files = [
            sf.SoundFile(folder / name, "w", rate, channels, "PCM_16", format="WAV")
            for name, channels in zip(self.NAMES, (1, 1, 2), strict=True)
        ]
        self._skip = skip_user
        self._user = np.zeros(0, np.float32)
        self._model = np.zeros(delay_model, np.float32)
        self._limit = limit
        self.samples = 0

    def add(self, user: Samples, model: Samples) -> None:
        if self._skip and user.size:
            cut = min(self._skip, user.size)
            user, self._skip = user[cut:], self._skip - cut
        self._user = np.concatenate([self._user, user]) if self._user.size else user
        self._model = np.concatenate([self._model, model]) if self._model.size else model
        self._write(min(self._user.size, self._model.size))

    def close(self) -> int:
        """Write what is left (the played channel padded with silence); return the length."""
        if self._model.size < self._user.size:
            pad = np.zeros(self._user.size - self._model.size, np.float32)
            self._model = np.concatenate([self._model, pad])
        self._write(self._user.size)
        for f in self._files:
            f.close()
        return self.samples

    def _write(self, k: int) -> None:
        if self._limit is not None:
            k = min(k, self._limit - self.samples)
        if k > 0:
            u = np.clip(self._user[:k], -1.0, 1.0)
            m = np.clip(self._model[:k], -1.0, 1.0)
            self._files[0].write(u)
            self._files[1].write(m)
            self._files[2].write(np.stack([u, m], axis=1))
            self.samples += k
        k = max(k, 0)
        self._user, self._model = self._user[k:].copy(), self._model[k:].copy()


class _Stream:
    """Streaming resampler between two rates (identity when they match), soxr's "QQ" quality.

    Whatever a resampler holds back is latency, on the way to the model and on the way to the
    speaker. soxr's "QQ" (cubic) holds back one to three samples at 24 kHz and returns an even
    amount per block: 3840 samples per 80 ms frame at 24 -> 48 kHz, where "LQ" holds 1.7 ms and
    now and then releases 20 ms at once (4700 samples), and "HQ" alternates 3320 and 4980; each
    burst left a queue in front of the speaker (measured: +18 ms on every reply onset at 48 kHz).
    Speech above the new Nyquist rate is weak enough for a model's input and a cubic's images
    are far below the voice on the way out. The recording of what was played is not
    latency-critical and uses "HQ".
    """

    def __init__(self, src: int, dst: int, quality: str = "QQ") -> None:
        self._r = (
            None
            if src == dst
            else soxr.ResampleStream(src, dst, 1, dtype="float32", quality=quality)
        )

    def push(self, x: Samples, last: bool = False) -> Samples:
        if self._r is None:
            return np.asarray(x, np.float32)
        return np.asarray(self._r.resample_chunk(np.asarray(x, np.float32), last=last), np.float32)


#: Zeros put before the model's input when the device rate is not the session rate: "QQ" holds
#: back 1-3 samples (at 24 kHz; measured from 16 to 48 kHz) and without them a frame whose last
#: sample ends a device block would only be complete when the next block arrives (measured:
#: +10 ms on every reply at 48 kHz). The model hears its input 4 samples (0.17 ms) late instead.
QQ_LEAD = 4


class Playout:
    """The speaker's queue, shared with the device thread: model audio at the device rate.

    When a chunk arrives late the queue has run dry and everything after it plays that much later;
    left alone, every hiccup of the event loop (or burst of a resampler) would add to the model's
    latency for the rest of the session. So whatever is waiting beyond ``max_queue`` samples is a
    backlog, and digital silence in it is dropped as chunks arrive: an arriving silent chunk, and
    queued silence before an arriving chunk of speech (a late silent frame still playing would
    otherwise hold back the speech right behind it). Speech is never cut. Frame-synchronous models
    find the queue empty when their next frame arrives, so only a backlog is ever dropped.
    """

    def __init__(self, max_queue: int = 0) -> None:
        self._lock = threading.Lock()
        self._chunks: collections.deque[Samples] = collections.deque()
        self._silent: collections.deque[bool] = collections.deque()
        self._offset = 0
        self._queued = 0
        self.max_queue = max_queue
        self.cleared_samples = 0
        self.skipped_silence = 0

    def push(self, x: Samples) -> None:
        if not x.size:
            return
        silent = not np.any(np.abs(x) > SILENCE_LEVEL)
        with self._lock:
            excess = self._queued - self.max_queue
            if excess > 0 and silent:
                drop = min(excess, x.size)
                self.skipped_silence += drop
                x = x[drop:]
                if not x.size:
                    return
            elif excess > 0:
                self._drop_queued_silence(excess)
            self._chunks.append(x)
            self._silent.append(silent)
            self._queued += x.size

    def _drop_queued_silence(self, excess: int) -> None:
        """Up to ``excess`` samples of the silence queued last, newest first (lock held)."""
        for i in range(len(self._chunks) - 1, -1, -1):
            if excess <= 0 or not self._silent[i]:
                break
            head = i == 0
            left = self._chunks[i].size - (self._offset if head else 0)
            drop = min(excess, left)
            self._chunks[i] = self._chunks[i][: self._chunks[i].size - drop]
            self._queued -= drop
            self.skipped_silence += drop
            excess -= drop
        while self._chunks and self._chunks[-1].size <= (
            self._offset if len(self._chunks) == 1 else 0
        ):
            self._chunks.pop()
            self._silent.pop()
            if not self._chunks:
                self._offset = 0

    def clear(self) -> None:
        with self._lock:
            self.cleared_samples += sum(c.size for c in self._chunks) - self._offset
            self._chunks.clear()
            self._silent.clear()
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
                    self._silent.popleft()
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
        # One wake-up in flight at a time: a device without a clock calls back thousands of times
        # a second, and a call_soon_threadsafe each filled the loop's self-pipe until a Ctrl-C
        # could not be written to it ("Exception ignored ... signal wakeup fd").
        self._wake_pending = False

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
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        self.wake.set()


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
    folder: Path,
    status_out: TextIO | None = sys.stderr,
    stop: asyncio.Event | None = None,
) -> LiveResult:
    """Run one live session until ``opts.duration_s``, Ctrl-C, ``stop`` or the model's end.

    The audio is written to ``folder`` as it is recorded (``input.wav``, ``output.wav``,
    ``session.wav``), so an interrupted session keeps its recording.
    """
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
    playout = Playout()
    bridge = _DeviceBridge(loop, device.rate, playout)
    mic_in, played_in = _Stream(device.rate, rate), _Stream(device.rate, rate, "HQ")
    to_device = _Stream(rate, device.rate)
    pending = np.zeros(QQ_LEAD if device.rate != rate else 0, np.float32)
    lateness: list[float] = []
    events: list[Event] = []
    audio_chunks = [0, 0]  # ModelAudio events, samples
    reason: list[str] = []
    status = LiveStatus(rate)
    limit = None if opts.duration_s is None else round(opts.duration_s * rate)
    files: SessionFiles | None = None

    def take_blocks(last: bool = False) -> None:
        nonlocal pending
        assert files is not None
        # Only what is there now: a device without a clock refills the queue as fast as we drain.
        for _ in range(len(bridge.captured)):
            c = bridge.captured.popleft()
            bridge.backlog -= c.size
            p = bridge.played.popleft()
            u, m = mic_in.push(c), played_in.push(p)
            files.add(u, m)
            status.push(u, m)
            pending = np.concatenate([pending, u]) if pending.size else u
        if last:
            empty = np.zeros(0, np.float32)
            files.add(mic_in.push(empty, last=True), played_in.push(empty, last=True))

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
    try:
        device.start(bridge.on_block)
        # Latencies are known once the device is open (PortAudio reports them for the stream).
        files = SessionFiles(
            folder,
            rate,
            round(device.input_latency * rate),
            round(device.output_latency * rate),
            limit,
        )
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
        if files is not None:
            take_blocks(last=True)
            samples = files.close()
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
    events.sort(key=lambda e: e.at)
    return LiveResult(folder, rate, samples, events, timings, timings["stop_reason"])


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
