"""What the metrics look at: the model channel's speech activity and its transcript.

Computed once per recording and shared by every task's scorer, so two tasks never disagree
about where the model spoke. The backends are recorded in the analysis (and must be in every
result): Full-Duplex-Bench's pause TOR moved from 0.856 to 0.111 on the same outputs by changing
only the ASR.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from duplex.audio import Samples, resample
from duplex.errors import DuplexError
from duplex.metrics.fdb_rules import Stamp
from duplex.simulator.recording import Recording
from duplex.speech.asr import (
    ASR_BACKENDS,
    ASR_RATE,
    EMPTY,
    Transcript,
    asr_provenance,
)
from duplex.speech.vad import speech_segments, vad_provenance
from duplex.timeline import Span


@dataclass(frozen=True)
class OutputAnalysis:
    """Model speech segments (seconds, energy-refined edges) and its words with times."""

    activity: tuple[Span, ...]
    transcript: Transcript
    vad_backend: str = "silero"
    asr_backend: str | None = "faster-whisper-tiny.en"
    provenance: dict[str, Any] = field(default_factory=dict)
    #: the words as an FDB ``output.json`` lists them (null times kept), when they came from one;
    #: None: the transcript's words are the list
    stamps: tuple[Stamp, ...] | None = None

    def fdb_stamps(self) -> list[Stamp]:
        """Word times as the anchor's scripts read them from ``output.json``."""
        if self.stamps is not None:
            return list(self.stamps)
        return [(w.start, w.end) for w in self.transcript.words]

    @property
    def speech_seconds(self) -> float:
        return sum(s.duration for s in self.activity)

    def to_json(self) -> dict[str, Any]:
        return {
            "activity": [[s.start, s.end] for s in self.activity],
            "transcript": self.transcript.to_json(),
            "vad_backend": self.vad_backend,
            "asr_backend": self.asr_backend,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OutputAnalysis:
        return cls(
            activity=tuple(Span(float(a), float(b)) for a, b in d.get("activity", [])),
            transcript=Transcript.from_json(d.get("transcript", {})),
            vad_backend=str(d.get("vad_backend", "silero")),
            asr_backend=d.get("asr_backend"),
            provenance=dict(d.get("provenance", {})),
        )


#: Finished sessions (or FDB samples) a run analyses together by default (``run --score-batch``).
SCORE_BATCH = 8


def scoring_workers(recordings: int) -> int:
    """Cores for the ASR of ``recordings`` analysed at once: one per recording up to the cores
    this process may use (one-thread decoders side by side keep the cores busier than one
    decoder on all of them), and one for a single recording (its decoder then uses every core)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(recordings, usable or 1))


def asr_requests(
    recordings: Sequence[Recording], vad: str = "silero"
) -> list[tuple[Samples, int, tuple[Span, ...]]]:
    """Each recording's model channel at the ASR's rate with its VAD segments (which gate the
    words): what the ASR is asked. Resampled once, since the VAD and the ASR both read 16 kHz."""
    requests = []
    for r in recordings:
        x16 = resample(r.model, r.sample_rate, ASR_RATE)
        gate = speech_segments(r.model, r.sample_rate, backend=vad, resampled=x16)
        requests.append((x16, ASR_RATE, tuple(gate)))
    return requests


def analyze_output(
    recording: Recording,
    *,
    vad: str = "silero",
    asr: str | None = "faster-whisper-tiny.en",
    timings: dict[str, float] | None = None,
) -> OutputAnalysis:
    """VAD and (unless ``asr`` is None) ASR of ``recording.model``.

    The VAD segments also gate and bound the ASR words (see :mod:`duplex.speech.asr`), so a
    silent output has no activity and no words by construction. ``timings``, when given, gets
    the seconds spent in each stage added to its ``vad_s`` and ``asr_s``.
    """
    return analyze_outputs([recording], vad=vad, asr=asr, timings=timings, workers=1)[0]


def analyze_outputs(
    recordings: Sequence[Recording],
    *,
    vad: str = "silero",
    asr: str | None = "faster-whisper-tiny.en",
    timings: dict[str, float] | None = None,
    workers: int = 1,
) -> list[OutputAnalysis]:
    """:func:`analyze_output` of several recordings at once: the ASR decodes their windows in
    shared batches on ``workers`` cores. Each analysis is the one :func:`analyze_output` gives."""
    t0 = time.perf_counter()
    requests = asr_requests(recordings, vad)
    activity = [gate for _, _, gate in requests]
    t1 = time.perf_counter()
    provenance: dict[str, Any] = {"vad": vad_provenance(vad)}
    transcripts = [EMPTY] * len(recordings)
    if asr is not None:
        backend = ASR_BACKENDS.get(asr)
        transcripts = backend.many(requests, workers=workers)
        provenance["asr"] = asr_provenance(asr)
    if timings is not None:
        timings["vad_s"] = timings.get("vad_s", 0.0) + t1 - t0
        timings["asr_s"] = timings.get("asr_s", 0.0) + time.perf_counter() - t1
    return [
        OutputAnalysis(a, t, vad, asr, dict(provenance))
        for a, t in zip(activity, transcripts, strict=True)
    ]


def analyze_each(
    recordings: Sequence[Recording], *, vad: str = "silero", asr: str | None = None
) -> list[OutputAnalysis | DuplexError]:
    """:func:`analyze_outputs` of ``recordings`` together, on as many cores as they can use; if
    that fails, each alone, so a recording that cannot be analysed is its error in its place and
    the others are still analysed."""
    if not recordings:
        return []
    workers = scoring_workers(len(recordings))
    try:
        return list(analyze_outputs(recordings, vad=vad, asr=asr, workers=workers))
    except DuplexError as exc:
        if len(recordings) == 1:
            return [exc]
    out: list[OutputAnalysis | DuplexError] = []
    for recording in recordings:
        try:
            out.append(analyze_output(recording, vad=vad, asr=asr))
        except DuplexError as exc:
            out.append(exc)
    return out
