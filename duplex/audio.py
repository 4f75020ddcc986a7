"""Frames, resampling, mixing, gains and wav I/O: the one place that touches samples.

Conventions used across the package: audio is a 1-D ``float32`` NumPy array in [-1, 1] at a stated
sample rate (mono); stereo exists only at the file boundary (``session.wav``). Times on a session
timeline are sample indices at the session rate; seconds appear only at the edges (specs, reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from duplex.errors import AudioError
from duplex.writing import write_bytes

Samples = npt.NDArray[np.float32]

#: Rates the harness converts between; models and devices use these in practice.
SUPPORTED_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
#: The session clock's rate: Moshi's and the OpenAI-Realtime protocol's native rate.
SESSION_RATE = 24000


def seconds_to_samples(seconds: float, rate: int) -> int:
    """Nearest sample index of a time in seconds."""
    return round(seconds * rate)


def silence(n: int) -> Samples:
    return np.zeros(max(0, n), dtype=np.float32)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms_db(x: Samples) -> float:
    """RMS level in dBFS; -inf for digital silence."""
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def validate(
    x: npt.NDArray[np.floating], rate: int, *, where: str, allow_clipping: bool = False
) -> Samples:
    """Check mono audio for the things that silently corrupt a measurement.

    Returns the samples as contiguous float32. ``where`` names the file or stream in the error.
    """
    if rate not in SUPPORTED_RATES:
        raise AudioError(
            f"{where}: unsupported sample rate {rate} Hz (supported: {SUPPORTED_RATES})"
        )
    if x.ndim != 1:
        raise AudioError(f"{where}: expected mono audio, got shape {tuple(x.shape)}")
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(
            f"{where}: {int(bad.sum())} NaN/inf samples (first at {first / rate:.3f} s)"
        )
    if not allow_clipping:
        over = np.abs(x) > 1.0
        if over.any():
            first = int(np.argmax(over))
            raise AudioError(
                f"{where}: {int(over.sum())} samples beyond full scale "
                f"(first at {first / rate:.3f} s); lower the gain"
            )
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(x: Samples, from_rate: int, to_rate: int) -> Samples:
    """Band-limited resampling (libsoxr, very high quality); identity when the rates match."""
    for rate in (from_rate, to_rate):
        if rate not in SUPPORTED_RATES:
            raise AudioError(f"unsupported sample rate {rate} Hz (supported: {SUPPORTED_RATES})")
    if from_rate == to_rate or x.size == 0:
        return np.asarray(x, dtype=np.float32)
    y = soxr.resample(np.asarray(x, dtype=np.float32), from_rate, to_rate, quality="VHQ")
    # soxr's output length can differ by one sample from the exact ratio; pin it so that a
    # resampled timeline keeps its length rule: n_out = round(n_in * to / from).
    return fit_length(np.asarray(y, dtype=np.float32), round(x.size * to_rate / from_rate))


def fit_length(x: Samples, n: int) -> Samples:
    """Truncate or zero-pad to exactly ``n`` samples."""
    if x.size == n:
        return x
    if x.size > n:
        return x[:n]
    return np.concatenate([x, silence(n - x.size)])


def frames(x: Samples, frame_size: int) -> Iterator[Samples]:
    """Consecutive frames of ``frame_size`` samples; the last is zero-padded."""
    if frame_size <= 0:
        raise AudioError(f"frame size must be positive, got {frame_size}")
    for start in range(0, x.size, frame_size):
        chunk = x[start : start + frame_size]
        yield chunk if chunk.size == frame_size else fit_length(chunk, frame_size)


@dataclass(frozen=True)
class Placed:
    """One source placed on a mix: its samples, where it starts, and its gain in dB."""

    samples: Samples
    start: int = 0
    gain_db: float = 0.0


def mix(sources: Sequence[Placed], length: int | None = None) -> Samples:
    """Sum placed sources; the result is as long as the furthest source unless ``length`` is given.

    Clipping is an error rather than a silent limiter: a clipped stimulus changes what the model
    hears, so the caller must choose gains that fit.
    """
    end = max((s.start + s.samples.size for s in sources), default=0)
    out = np.zeros(end if length is None else length, dtype=np.float64)
    for s in sources:
        if s.start < 0:
            raise AudioError(f"mix: source starts at negative sample {s.start}")
        stop = min(out.size, s.start + s.samples.size)
        if stop > s.start:
            out[s.start : stop] += s.samples[: stop - s.start] * db_to_gain(s.gain_db)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        raise AudioError(f"mix: peak {peak:.3f} exceeds full scale; lower the gains")
    return out.astype(np.float32)


def trim_silence(x: Samples, rate: int, threshold_db: float = -45.0) -> Samples:
    """Drop leading and trailing near-silence (10 ms windows under ``threshold_db`` dBFS).

    Used on synthesised speech so that annotated speech edges are where the voice is.
    """
    win = max(1, rate // 100)
    n = x.size // win
    if n == 0:
        return x
    energy = np.sqrt(np.mean(np.square(x[: n * win].reshape(n, win), dtype=np.float64), axis=1))
    loud = np.flatnonzero(energy > db_to_gain(threshold_db))
    if loud.size == 0:
        return x[:0]
    return x[loud[0] * win : (loud[-1] + 1) * win]


def read_wav(
    path: Path | str, *, rate: int | None = None, mono: bool = True
) -> tuple[Samples, int]:
    """Read a wav file as float32 mono, optionally resampled to ``rate``.

    Multi-channel files are refused when ``mono`` is set rather than silently downmixed: a stereo
    session file has the user and the model on separate channels, and summing them is never right.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})") from exc
    if mono and data.shape[1] != 1:
        raise AudioError(f"{path}: expected 1 channel, found {data.shape[1]}")
    x = validate(data[:, 0], int(file_rate), where=str(path), allow_clipping=True)
    if rate is not None and rate != file_rate:
        x = resample(x, int(file_rate), rate)
    return x, int(file_rate) if rate is None else rate


def wav_shortfall(path: Path | str) -> int:
    """Bytes of audio a wav file's header declares but the file does not hold (0 when whole).

    A file cut short (a crash, a full disk, a partial copy) still opens: readers take what is
    there, so without this check a recording that lost its end would be scored silently.
    """
    with Path(path).open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return 0
            size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                start = f.tell()
                end = f.seek(0, 2)
                return max(0, size - (end - start)) if size != 0xFFFFFFFF else 0
            f.seek(size + (size & 1), 1)


def write_wav(path: Path | str, x: npt.NDArray[np.float32], rate: int) -> None:
    """Write 16-bit PCM (the format Full-Duplex-Bench folders use); 2-D input is (n, channels)."""
    data = np.clip(x, -1.0, 1.0)
    # Atomically, like every file we write: a crash or a full disk never leaves half a wav.
    write_bytes(
        Path(path),
        lambda f: sf.write(f, data, rate, subtype="PCM_16", format="WAV"),
        what="the audio",
    )


def varispeed(x: Samples, factor: float) -> Samples:
    """Play ``x`` ``factor`` times faster, like a tape: duration / factor, every frequency * factor.

    Band-limited (libsoxr, very high quality). Shifting a voice's pitch without changing its
    duration is this applied to speech synthesised ``factor`` times slower; formants move with the
    pitch, which is what makes the result sound like a different (smaller or larger) speaker.
    """
    if not (factor > 0 and np.isfinite(factor)):
        raise AudioError(f"varispeed factor must be a positive number, got {factor}")
    if factor == 1.0 or x.size == 0:
        return np.asarray(x, dtype=np.float32)
    # soxr only needs the ratio of the two rates.
    y = soxr.resample(np.asarray(x, dtype=np.float32), factor, 1.0, quality="VHQ")
    return fit_length(np.asarray(y, dtype=np.float32), round(x.size / factor))
