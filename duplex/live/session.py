"""A live session: the microphone streamed to a model on the real-time clock, its answer played.

Timeline. The device's duplex stream counts samples; captured sample ``k`` and played sample ``k``
are the same instant of the device clock. Both channels are resampled to the session rate with
streaming resamplers whose output stays aligned with their input, then compensated: the mic
channel is shifted earlier by the input latency (the sound reached the microphone that long before
its sample reached us) and the model channel later by the output latency (a played sample is heard
that long after it leaves us). The model channel is what was actually played, not what the model
sent: audio is queued for the speaker as it arrives and played out at the device's pace, so
network bursts, stalls (gaps) and ``ModelAudioCleared`` (queue dropped) are heard as they were;
only digital silence behind a backlog is dropped (:data:`duplex.playout.SPEAKER`).

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
from duplex.models.base import Model, SessionInfo, StreamingSession
from duplex.playout import SPEAKER, DeviceQueue
from duplex.simulator.adapters import as_streaming
from duplex.simulator.recording import Recording
from duplex.timeline import RealtimeClock

#: Captured blocks waiting for the event loop; beyond this (a device without a clock, or a loop
#: stalled for seconds) the oldest are dropped and counted rather than growing without bound.
MAX_BACKLOG_S = 5.0


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


class _DeviceBridge:
    """What the device thread does per block, and the hand-over to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rate: int, playout: DeviceQueue) -> None:
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
    live = _LiveSession(session, clock, device, opts, frame, status_out, stop or asyncio.Event())
    return await live.run(folder)


class _LiveSession:
    """One live session once the model is connected: the tasks, their state and the teardown."""

    def __init__(
        self,
        session: StreamingSession,
        clock: RealtimeClock,
        device: AudioIO,
        opts: LiveOptions,
        frame: int,
        status_out: TextIO | None,
        stop: asyncio.Event,
    ) -> None:
        rate = clock.rate
        self.session, self.clock, self.device, self.opts = session, clock, device, opts
        self.rate, self.frame = rate, frame
        self.status_out, self.stop = status_out, stop
        self.loop = asyncio.get_running_loop()
        self.playout = DeviceQueue(SPEAKER)
        self.bridge = _DeviceBridge(self.loop, device.rate, self.playout)
        self.mic_in, self.played_in = _Stream(device.rate, rate), _Stream(device.rate, rate, "HQ")
        self.to_device = _Stream(rate, device.rate)
        self.pending = np.zeros(QQ_LEAD if device.rate != rate else 0, np.float32)
        self.lateness: list[float] = []
        self.events: list[Event] = []
        self.audio_chunks = self.audio_samples = 0  # ModelAudio events received, and samples
        self.reasons: list[str] = []
        self.status = LiveStatus(rate)
        self.limit = None if opts.duration_s is None else round(opts.duration_s * rate)
        self.files: SessionFiles | None = None
        self.samples = 0

    async def run(self, folder: Path) -> LiveResult:
        handled = _on_sigint(self.loop, self.stop, self.reasons)
        self.clock.start()
        try:
            self.device.start(self.bridge.on_block)
            # Latencies are known once the device is open (PortAudio reports them for the stream).
            self.files = SessionFiles(
                folder,
                self.rate,
                round(self.device.input_latency * self.rate),
                round(self.device.output_latency * self.rate),
                self.limit,
            )
            await self._supervise()
        finally:
            transport = await self._close(handled)
        timings = self._timings(transport)
        self.events.sort(key=lambda e: e.at)
        return LiveResult(
            folder, self.rate, self.samples, self.events, timings, timings["stop_reason"]
        )

    async def _supervise(self) -> None:
        """Run until the first task ends or ``stop``; every task is ended before an error rises."""
        tasks = [
            asyncio.create_task(self._pump(), name="live-pump"),
            asyncio.create_task(self._receive(), name="live-receive"),
        ]
        stopper = asyncio.create_task(self.stop.wait(), name="live-stop")
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in [*tasks, stopper]:
                t.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
        for t in tasks:
            if t in done and not t.cancelled() and (error := t.exception()) is not None:
                raise error

    def _take_blocks(self, last: bool = False) -> None:
        files, bridge = self.files, self.bridge
        assert files is not None
        # Only what is there now: a device without a clock refills the queue as fast as we drain.
        for _ in range(len(bridge.captured)):
            c = bridge.captured.popleft()
            bridge.backlog -= c.size
            p = bridge.played.popleft()
            u, m = self.mic_in.push(c), self.played_in.push(p)
            files.add(u, m)
            self.status.push(u, m)
            self.pending = np.concatenate([self.pending, u]) if self.pending.size else u
        if last:
            empty = np.zeros(0, np.float32)
            files.add(self.mic_in.push(empty, last=True), self.played_in.push(empty, last=True))

    async def _pump(self) -> None:
        frame, limit, n = self.frame, self.limit, 0
        while not self.stop.is_set():
            await self.bridge.wake.wait()
            self.bridge.wake.clear()
            self._take_blocks()
            while self.pending.size >= frame and (limit is None or n * frame < limit):
                f, self.pending = self.pending[:frame].copy(), self.pending[frame:]
                self.lateness.append(self.clock.now() - (n + 1) * frame / self.rate)
                await self.session.send(f)
                n += 1
            if limit is not None and n * frame >= limit:
                self.reasons.append("duration")
                self.stop.set()
            self.status.show(self.status_out, self.clock.now(), every=self.opts.status_every_s)

    async def _receive(self) -> None:
        async for event in self.session.events():
            if isinstance(event, ModelAudio):
                self.audio_chunks += 1
                self.audio_samples += event.samples.size
                self.playout.push(self.to_device.push(event.samples))
                continue
            if isinstance(event, ModelAudioCleared):
                self.playout.clear()
            self.events.append(event)
            if isinstance(event, ModelFailed):
                self.reasons.append(f"model failed: {event.reason}")
                break
        self.reasons.append("model ended")
        self.stop.set()

    async def _close(self, handled: bool) -> dict[str, Any]:
        """Stop the device and the model, write what is left; the transport's counters."""
        self.device.stop()
        self.bridge.closed = True
        if handled:
            self.loop.remove_signal_handler(signal.SIGINT)
        transport = self.session.stats()
        await self.session.aclose()
        if self.status_out is not None:
            self.status.show(self.status_out, self.clock.now(), every=0.0, final=True)
        if self.files is not None:
            self._take_blocks(last=True)
            self.samples = self.files.close()
        return transport

    def _timings(self, transport: dict[str, Any]) -> dict[str, Any]:
        device, lat = self.device, np.asarray(self.lateness or [0.0])
        return {
            "clock": "realtime",
            "source": "live",
            "frame_size": self.frame,
            "frames": len(self.lateness),
            "send_lateness_ms_p50": float(np.percentile(lat, 50) * 1000),
            "send_lateness_ms_p99": float(np.percentile(lat, 99) * 1000),
            "send_lateness_ms_max": float(lat.max() * 1000),
            "device": device.describe(),
            "device_rate": device.rate,
            "input_latency_s": device.input_latency,
            "output_latency_s": device.output_latency,
            "latency_compensated": True,
            "captured_samples_dropped": self.bridge.dropped_samples,
            "model_samples_cleared": self.playout.cleared_samples,
            "model_silence_skipped_s": self.playout.skipped_silence / device.rate,
            "model_audio_samples_received": self.audio_samples,
            "model_audio_chunks": self.audio_chunks,
            "stop_reason": self.reasons[0] if self.reasons else "stopped",
            **({"device_stats": device.stats()} if device.stats() else {}),
            **({"transport": transport} if transport else {}),
        }


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
