"""Prosody of the model's speech in a stretch of a recording, and paired tests over items.

Full-Duplex-Bench v1.5 asks whether an overlap changes *how* a model speaks - faster, higher,
louder - by comparing its output with and without the overlap. Per segment:

- ``wpm``: ASR words whose midpoint lies in the segment, per minute of the model's *speech*
  inside it (VAD activity), so a pause does not read as slow speech;
- ``pitch_mean_st`` / ``pitch_sd_st``: mean and standard deviation of F0 over voiced frames, in
  semitones re 100 Hz (semitones make a shift comparable between a low and a high voice);
  ``pitch_mean_hz`` beside it. Praat's autocorrelation pitch (``praat-parselmouth``), 10 ms
  steps, 50-500 Hz: Praat's usual 75 Hz floor drops the low end of the Piper voice (median
  90 Hz, spread 4 st), which biased a known 3-semitone shift of its speech to 2.7 st; from
  50 Hz the same shift measures 2.9-3.1 st;
- ``intensity_db``: Praat's intensity (dB re 2e-5, 10 ms steps, 100 Hz minimum pitch) averaged in
  the energy domain over the frames inside speech activity.

Paired tests (:func:`paired_test`) compare one feature between two conditions over the same
items: differences beyond ``k`` scaled median absolute deviations from their median are trimmed
first (FDB v1.5's significance test trims differences by MAD, 3.5 scaled MADs by default), then
scipy's paired t-test and Wilcoxon signed-rank test run on what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.errors import BackendError
from duplex.speech.asr import Word
from duplex.timeline import Span

PITCH_FLOOR_HZ = 50.0
PITCH_CEILING_HZ = 500.0
TIME_STEP_S = 0.01
#: Pairs whose difference lies more than this many scaled MADs from the median are trimmed
#: (the anchor's default).
MAD_K = 3.5
_MAD_SCALE = 1.4826  # MAD of a normal distribution times this is its standard deviation
#: Shorter stretches of speech give no prosody (too few pitch frames to mean anything).
MIN_SPEECH_S = 0.5


@dataclass(frozen=True)
class Prosody:
    speech_s: float
    words: int
    wpm: float | None
    pitch_mean_st: float | None
    pitch_sd_st: float | None
    pitch_mean_hz: float | None
    intensity_db: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


EMPTY = Prosody(0.0, 0, None, None, None, None, None)


def praat_missing() -> str | None:
    """Why prosody is not measured here, or None when Praat is installed."""
    try:
        import parselmouth  # noqa: F401
    except ImportError:
        return "not measured: praat-parselmouth is not installed (extra 'praat')"
    return None


def _parselmouth() -> Any:
    try:
        import parselmouth
    except ImportError as exc:
        raise BackendError(
            "prosody: praat-parselmouth is not installed; "
            "install the extra 'praat' (`pip install 'duplex-bench[praat]'`)"
        ) from exc
    return parselmouth


def _clip(spans: Sequence[Span], segment: Span) -> list[Span]:
    out = []
    for s in spans:
        a, b = max(s.start, segment.start), min(s.end, segment.end)
        if b > a:
            out.append(Span(a, b))
    return out


def _inside(times: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    mask = np.zeros(times.size, bool)
    for s in spans:
        mask |= (times >= s.start) & (times < s.end)
    return mask


def features(
    x: Samples, rate: int, segment: Span, activity: Sequence[Span], words: Sequence[Word] = ()
) -> Prosody:
    """Prosody of the model's speech in ``segment`` (seconds into ``x``)."""
    speech = _clip(activity, segment)
    speech_s = sum(s.duration for s in speech)
    if speech_s < MIN_SPEECH_S:
        return EMPTY
    n_words = sum(1 for w in words if segment.start <= (w.start + w.end) / 2 < segment.end)
    parselmouth = _parselmouth()
    lo, hi = max(0, int(segment.start * rate)), min(x.size, int(np.ceil(segment.end * rate)))
    sound = parselmouth.Sound(np.asarray(x[lo:hi], np.float64), sampling_frequency=rate)
    offset = lo / rate
    pitch = sound.to_pitch(
        time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
    )
    f0 = pitch.selected_array["frequency"]
    keep = (f0 > 0) & _inside(pitch.xs() + offset, speech)
    st = 12.0 * np.log2(f0[keep] / 100.0)
    intensity = sound.to_intensity(minimum_pitch=100.0, time_step=TIME_STEP_S)
    db = intensity.values[0]
    in_speech = db[_inside(intensity.xs() + offset, speech)]
    return Prosody(
        speech_s=round(speech_s, 4),
        words=n_words,
        wpm=round(n_words / speech_s * 60.0, 2),
        pitch_mean_st=round(float(st.mean()), 3) if st.size >= 5 else None,
        pitch_sd_st=round(float(st.std()), 3) if st.size >= 5 else None,
        pitch_mean_hz=round(float(np.mean(f0[keep])), 2) if st.size >= 5 else None,
        intensity_db=round(float(10 * np.log10(np.mean(10 ** (in_speech / 10)))), 2)
        if in_speech.size
        else None,
    )


@dataclass(frozen=True)
class PairedTest:
    """``b - a`` over paired items after MAD trimming."""

    n: int  # pairs tested
    trimmed: int  # pairs dropped as outliers
    mean_diff: float | None
    median_diff: float | None
    t: float | None
    p_t: float | None
    w: float | None
    p_wilcoxon: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mad_keep(d: np.ndarray, k: float = MAD_K) -> np.ndarray:
    """Mask of values within ``k`` scaled MADs of the median (all kept when the MAD is 0)."""
    med = np.median(d)
    mad = np.median(np.abs(d - med)) * _MAD_SCALE
    if mad == 0:
        return np.ones(d.size, bool)
    return np.asarray(np.abs(d - med) <= k * mad)


def paired_test(
    a: Sequence[float | None], b: Sequence[float | None], *, k: float = MAD_K
) -> PairedTest:
    """Paired t-test and Wilcoxon signed-rank test of ``b - a`` (pairs with a None dropped)."""
    from scipy import stats

    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not pairs:
        return PairedTest(0, 0, None, None, None, None, None, None)
    d = np.array([y - x for x, y in pairs], np.float64)
    keep = mad_keep(d, k)
    kept = d[keep]
    out = {"n": int(kept.size), "trimmed": int(d.size - kept.size)}
    mean, median = float(kept.mean()), float(np.median(kept))
    if kept.size < 2 or np.all(kept == kept[0]):
        return PairedTest(
            **out, mean_diff=mean, median_diff=median, t=None, p_t=None, w=None, p_wilcoxon=None
        )
    t = stats.ttest_1samp(kept, 0.0)  # the paired t-test is a one-sample test of differences
    w = stats.wilcoxon(kept)
    return PairedTest(
        **out,
        mean_diff=round(mean, 4),
        median_diff=round(median, 4),
        t=round(float(t.statistic), 4),
        p_t=float(t.pvalue),
        w=float(w.statistic),
        p_wilcoxon=float(w.pvalue),
    )
