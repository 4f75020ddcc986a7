"""Audio devices for live sessions: one small interface, a PortAudio implementation, a fake.

A device runs one callback per block, on its own thread: the callback gets the block of captured
microphone samples and fills the block to play. Input and output share one sample counter (a
duplex stream), which is the session's timeline: captured sample ``k`` and played sample ``k``
belong to the same instant of the device's clock, before latency compensation.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from duplex.audio import SUPPORTED_RATES, Samples
from duplex.errors import ConfigError

#: ``callback(captured, to_play)``: ``captured`` is the mono input block, ``to_play`` the mono
#: output block of the same length, to be filled in place.
BlockCallback = Callable[[Samples, Samples], None]

INSTALL_HINT = (
    "the PortAudio library is missing; install it with `apt-get install libportaudio2` "
    "(and `pip install sounddevice`)"
)


class AudioDeviceError(ConfigError):
    """No usable audio device: PortAudio missing, a device that does not exist or cannot open."""


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_low_input_latency: float
    default_low_output_latency: float


class AudioIO(ABC):
    """A started-and-stopped duplex audio stream at ``rate`` (input and output alike)."""

    rate: int
    #: seconds from sound at the microphone to its sample reaching the callback
    input_latency: float = 0.0
    #: seconds from a sample leaving the callback to its sound at the speaker
    output_latency: float = 0.0

    @abstractmethod
    def start(self, callback: BlockCallback) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Stop calling back; safe to call more than once."""

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "rate": self.rate}

    def stats(self) -> dict[str, Any]:
        """Counters for session.json (xruns and the like)."""
        return {}


def import_sounddevice() -> Any:
    """The ``sounddevice`` module, or one clear error saying what to install."""
    try:
        import sounddevice
    except OSError as exc:  # the wheel imports fine but cannot load libportaudio
        raise AudioDeviceError(f"{INSTALL_HINT} ({exc})") from exc
    except ImportError as exc:
        raise AudioDeviceError(
            "the sounddevice package is not installed; `pip install sounddevice` "
            "and `apt-get install libportaudio2`"
        ) from exc
    return sounddevice


def list_devices() -> list[DeviceInfo]:
    sd = import_sounddevice()
    apis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        out.append(
            DeviceInfo(
                index=i,
                name=str(d["name"]),
                host_api=str(apis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                default_low_input_latency=float(d["default_low_input_latency"]),
                default_low_output_latency=float(d["default_low_output_latency"]),
            )
        )
    return out


def format_devices(devices: list[DeviceInfo]) -> str:
    if not devices:
        return "no audio devices found (is a sound card or sound server available?)"
    lines = []
    for d in devices:
        lines.append(
            f"{d.index:>3}  {d.name[:40]:<40} {d.host_api:<8} in {d.max_input_channels:>3}  "
            f"out {d.max_output_channels:>3}  {d.default_samplerate:>7.0f} Hz"
        )
    return "\n".join(lines)


def _choose(devices: list[DeviceInfo], wanted: str | None, kind: str) -> DeviceInfo:
    usable = [
        d
        for d in devices
        if (d.max_input_channels if kind == "input" else d.max_output_channels) > 0
    ]
    known = "; ".join(f"{d.index}: {d.name}" for d in usable) or "none"
    if not usable:
        raise AudioDeviceError(f"no {kind} device found (devices: {known})")
    if wanted is None:
        sd = import_sounddevice()
        default = sd.default.device[0 if kind == "input" else 1]
        if default is not None and 0 <= int(default) < len(devices):
            d = devices[int(default)]
            if d in usable:
                return d
        return usable[0]
    if wanted.isdigit():
        hits = [d for d in usable if d.index == int(wanted)]
    else:
        hits = [d for d in usable if wanted.lower() in d.name.lower()]
    if not hits:
        raise AudioDeviceError(
            f"no {kind} device {wanted!r}; {kind} devices: {known} (see `duplex-bench devices`)"
        )
    return hits[0]


class SoundDeviceIO(AudioIO):
    """A PortAudio duplex stream through ``sounddevice``, float32, one input channel.

    The rate is the input device's default rate if it is one the harness converts from, else 48 kHz.
    Latencies are what PortAudio reports for the opened stream unless overridden.
    """

    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        *,
        rate: int | None = None,
        input_latency: float | None = None,
        output_latency: float | None = None,
        blocksize: int = 0,
    ) -> None:
        self._sd = import_sounddevice()
        devices = list_devices()
        self.input_info = _choose(devices, input_device, "input")
        self.output_info = _choose(devices, output_device, "output")
        default_rate = round(self.input_info.default_samplerate)
        self.rate = rate or (default_rate if default_rate in SUPPORTED_RATES else 48000)
        self._override = (input_latency, output_latency)
        self._blocksize = blocksize
        self._out_channels = min(2, self.output_info.max_output_channels)
        self._stream: Any = None
        self._status_flags = 0
        self._status_counts: dict[str, int] = {}

    def start(self, callback: BlockCallback) -> None:
        sd = self._sd

        def on_block(indata: Any, outdata: Any, frames: int, _time: Any, status: Any) -> None:
            if status:
                for flag in str(status).split(", "):
                    self._status_counts[flag] = self._status_counts.get(flag, 0) + 1
            block = np.zeros(frames, np.float32)
            callback(np.asarray(indata[:, 0], np.float32), block)
            outdata[:] = block[:, None]

        try:
            self._stream = sd.Stream(
                device=(self.input_info.index, self.output_info.index),
                samplerate=self.rate,
                channels=(1, self._out_channels),
                dtype="float32",
                blocksize=self._blocksize,
                latency="low",
                callback=on_block,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(
                f"cannot open input {self.input_info.name!r} with output "
                f"{self.output_info.name!r} at {self.rate} Hz: {exc}"
            ) from exc
        reported_in, reported_out = self._stream.latency
        self.reported_latency = (float(reported_in), float(reported_out))
        given_in, given_out = self._override
        self.input_latency = float(reported_in) if given_in is None else given_in
        self.output_latency = float(reported_out) if given_out is None else given_out

    def stop(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.stop()
            stream.close()

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "rate": self.rate,
            "input": self.input_info.name,
            "output": self.output_info.name,
            "host_api": self.input_info.host_api,
            "reported_latency_s": list(getattr(self, "reported_latency", (None, None))),
        }

    def stats(self) -> dict[str, Any]:
        return {"status_flags": dict(self._status_counts)}


class FakeClockedIO(AudioIO):
    """A device for tests: a thread that, every ``block_ms`` of real time, hands the callback the
    next block of ``mic`` (silence after its end) and keeps what the callback plays.

    ``speed`` > 1 runs faster than real time (for memory checks). The schedule is absolute
    (block ``n`` at ``t0 + n * block / rate``), so there is no drift.
    """

    def __init__(
        self,
        mic: Samples,
        rate: int,
        *,
        block_ms: float = 10.0,
        speed: float = 1.0,
        input_latency: float = 0.0,
        output_latency: float | None = None,
        keep_played: bool = True,
        loop: bool = False,
    ) -> None:
        self.mic = np.asarray(mic, np.float32)
        self.rate = rate
        self.block = max(1, round(rate * block_ms / 1000))
        self.speed = speed
        self.input_latency = input_latency
        # A block filled at the end of its interval is heard during the next one.
        self.output_latency = self.block / rate if output_latency is None else output_latency
        self.keep_played = keep_played
        self.loop = loop  # repeat ``mic`` forever (long sessions without a long array)
        self.played: list[Samples] = []
        self.blocks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, callback: BlockCallback) -> None:
        self._thread = threading.Thread(target=self._run, args=(callback,), daemon=True)
        self._thread.start()

    def _run(self, callback: BlockCallback) -> None:
        t0 = time.perf_counter()
        period = self.block / self.rate / self.speed
        n = 0
        while not self._stop.is_set():
            # Block n holds mic samples [n*B, (n+1)*B): it exists once its last sample is spoken.
            delay = t0 + (n + 1) * period - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                break
            captured = np.zeros(self.block, np.float32)
            if self.loop and self.mic.size:
                idx = (n * self.block + np.arange(self.block)) % self.mic.size
                captured[:] = self.mic[idx]
            else:
                part = self.mic[n * self.block : (n + 1) * self.block]
                captured[: part.size] = part
            out = np.zeros(self.block, np.float32)
            callback(captured, out)
            if self.keep_played:
                self.played.append(out)
            n += 1
            self.blocks = n

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def played_audio(self) -> Samples:
        return np.concatenate(self.played) if self.played else np.zeros(0, np.float32)
