"""What a judge is shown about one response: its words, timing and measured speech features.

The response of a run's item is read back from the run folder
(:mod:`duplex.report.arena_responses`): its words are the ASR transcript already in the
result row (the run's own ASR, named in run.json), and its timing and speech features are measured
on the session's ``output.wav`` with the run's VAD rule (Silero, energy-refined edges, gaps under
0.5 s joined, as :mod:`duplex.metrics.response` does):

- *event*: the moment the response answers - the end of the user's turn (``turn_end``), or the end
  of the interruption for ``user_interruption`` items;
- *response utterances*: the model's utterances that start no earlier than 0.5 s before the event
  (speech the model was already making through the user's turn is not a response to it);
- ``duration_s``: first onset to last offset of those utterances; ``speech_s``: voiced seconds;
- ``rate_wpm``: words of the transcript per minute of voiced response speech;
- ``latency_s``: first response onset minus the event (negative down to -0.5 s);
- ``loudness_dbfs``: RMS level of the voiced response samples;
- ``pitch_hz``: mean F0 over the voiced frames of the response (Praat's autocorrelation pitch,
  through praat-parselmouth), None when no frame is voiced or the package is missing.

How the turn, the event and the words are found depends on the task: each names its view
(``Task.view``, :mod:`duplex.metrics.views`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from duplex.audio import Samples, rms_db
from duplex.metrics.response import ANTICIPATION_S, utterances
from duplex.speech.vad import speech_segments
from duplex.timeline import Span

#: Pitch search range (Hz): Praat's default floor, and a ceiling above any speaking voice.
PITCH_FLOOR, PITCH_CEILING = 75.0, 500.0


@dataclass(frozen=True)
class SpeechFeatures:
    """Measured on the response (module doc); None where a figure is undefined."""

    duration_s: float
    speech_s: float
    words: int
    rate_wpm: float | None
    latency_s: float | None
    loudness_dbfs: float | None
    pitch_hz: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SpeechFeatures:
        values: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__}
        return cls(**values)


@dataclass(frozen=True)
class Response:
    """One model response: transcript, utterance times relative to the event, features."""

    text: str
    utterances: tuple[tuple[float, float], ...]
    features: SpeechFeatures

    @property
    def empty(self) -> bool:
        return not self.text.strip() or self.features.speech_s == 0

    def content_hash(self) -> str:
        """What a verdict depends on; the cache key of a battle holds both responses' hashes."""
        doc = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(doc.encode()).hexdigest()[:24]

    def timing_text(self) -> str:
        if not self.utterances:
            return "no speech after the user's turn"
        parts = [f"{a:+.2f} s to {b:+.2f} s" for a, b in self.utterances]
        return "speech " + ", ".join(parts) + " (times from the end of the user's turn)"

    def features_text(self) -> str:
        f = self.features

        def fmt(v: float | None, unit: str, digits: int = 2) -> str:
            return "n/a" if v is None else f"{v:.{digits}f} {unit}"

        return (
            f"duration {fmt(f.duration_s, 's')}, voiced {fmt(f.speech_s, 's')}, "
            f"{f.words} words, rate {fmt(f.rate_wpm, 'words/min', 0)}, "
            f"latency {fmt(f.latency_s, 's')}, loudness {fmt(f.loudness_dbfs, 'dBFS', 1)}, "
            f"pitch {fmt(f.pitch_hz, 'Hz', 0)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "utterances": [list(u) for u in self.utterances],
            "features": self.features.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Response:
        return cls(
            str(d.get("text", "")),
            tuple((float(a), float(b)) for a, b in d.get("utterances", [])),
            SpeechFeatures.from_json(d.get("features") or {}),
        )


def _pitch(x: Samples, rate: int) -> float | None:
    try:
        import parselmouth
    except ImportError:
        return None
    if x.size < rate * 0.1:
        return None
    pitch = parselmouth.Sound(x.astype(np.float64), rate).to_pitch(
        pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING
    )
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    return round(float(voiced.mean()), 1) if voiced.size else None


def measure(model: Samples, rate: int, event: float, text: str) -> Response:
    """The response in ``model`` (the output channel) to an event at ``event`` s."""
    activity = speech_segments(model, rate)
    spans = [u for u in utterances(activity) if u.start >= event - ANTICIPATION_S]
    voiced = [Span(max(a.start, s.start), min(a.end, s.end)) for s in spans for a in activity]
    voiced = [v for v in voiced if v.end > v.start]
    speech_s = sum(v.duration for v in voiced)
    words = len(text.split()) if spans else 0
    samples = (
        np.concatenate([model[round(v.start * rate) : round(v.end * rate)] for v in voiced])
        if voiced
        else np.zeros(0, np.float32)
    )
    loud = rms_db(samples) if samples.size else None
    features = SpeechFeatures(
        duration_s=round(spans[-1].end - spans[0].start, 3) if spans else 0.0,
        speech_s=round(speech_s, 3),
        words=words,
        rate_wpm=round(60.0 * words / speech_s, 1) if speech_s > 0 and words else None,
        latency_s=round(spans[0].start - event, 3) if spans else None,
        loudness_dbfs=round(float(loud), 1) if loud is not None and math.isfinite(loud) else None,
        pitch_hz=_pitch(samples, rate),
    )
    rel = tuple((round(u.start - event, 2), round(u.end - event, 2)) for u in spans)
    return Response(text.strip() if spans else "", rel, features)
