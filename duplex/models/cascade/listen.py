"""Partial transcription of the user's turn, tuned for latency rather than archival quality.

The model is the process-wide Whisper tiny.en of :mod:`duplex.speech.asr` (shared, so a run that
also scores with ASR holds one copy). Decoding differs from the scoring ASR on purpose: greedy,
and over a *short encoder window*. faster-whisper always pads to Whisper's 30 s window, and the
encoder over 30 s was most of a turn check's cost; CTranslate2 encodes any window up to 30 s, so
turns are encoded in a window of ``max(window_s, audio + 0.5 s)``. Whisper was trained on 30 s
windows, and in a short one without timestamp tokens it stops at the first pause or repeats
itself; predicting timestamps keeps it going. Measured on 50 turn-end and pause-prefix clips of
the turn_taking and pause_handling suites: WER 5.8 % with a 10 s window and timestamps vs 8.9 %
for the 30 s window without (16.7 % for a 10 s window without timestamps), at about a third of
the CPU time (0.30 vs 0.75-0.82 s CPU per clip under load).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from duplex.audio import Samples, resample
from duplex.speech import asr

#: encoder window of a turn check (s); turns longer than the window get a window to fit them
WINDOW_S = 10.0
#: silence after the audio inside the window, so the last word is never at the window's edge
_TAIL_S = 0.5
_MAX_WINDOW_S = 30.0
#: token budget per second of audio, words and timestamps (speech is ~3 words/s)
_TOKENS_PER_S = 12

DECODE: dict[str, Any] = {
    "language": "en",
    "beam_size": 1,
    "temperature": 0.0,
    "window_s": f"max(asr_window, audio + {_TAIL_S:g}), at most {_MAX_WINDOW_S:g}",
    "timestamps": "predicted, dropped from the text",
    "max_tokens": f"{_TOKENS_PER_S} per s of audio + 10",
    "longer_turns": "faster-whisper transcribe, 30 s windows, greedy, with timestamps",
}

_FULL_DECODE: dict[str, Any] = {
    "language": "en",
    "beam_size": 1,
    "temperature": 0.0,
    "condition_on_previous_text": False,
    "without_timestamps": False,
    "vad_filter": False,
}


class Decoder:
    """A Whisper model, its tokenizer and the prompt of a greedy English transcription.

    ``whisper``: a faster-whisper model; the process-wide one when omitted. One built from
    :func:`duplex.speech.asr.load_parallel` may be called from several threads at once.
    """

    def __init__(self, whisper: Any = None) -> None:
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        self._storage = ctranslate2.StorageView
        self.whisper: Any = asr._load() if whisper is None else whisper
        self.tokenizer = Tokenizer(
            self.whisper.hf_tokenizer, False, task="transcribe", language="en"
        )
        self.prompt = list(self.tokenizer.sot_sequence)

    def transcribe(self, samples: Samples, rate: int, window_s: float = WINDOW_S) -> str:
        """Text of ``samples`` (encoder window at least ``window_s``); empty for no audio."""
        if samples.size == 0:
            return ""
        x = resample(np.asarray(samples, np.float32), rate, asr.ASR_RATE)
        if x.size / asr.ASR_RATE + _TAIL_S > _MAX_WINDOW_S:
            return self.full(x)
        return self.short(x, window_s)

    def short(self, x: np.ndarray, window_s: float) -> str:
        duration = x.size / asr.ASR_RATE
        window = min(_MAX_WINDOW_S, max(window_s, math.ceil(duration + _TAIL_S)))
        padded = np.zeros(round(window * asr.ASR_RATE), np.float32)
        padded[: x.size] = x
        frames = round(window * 100)  # the feature extractor's hop is 10 ms
        features = self.whisper.feature_extractor(padded)[:, :frames]
        encoded = self.whisper.model.encode(
            self._storage.from_array(np.ascontiguousarray(features[None])),
            to_cpu=False,
        )
        result = self.whisper.model.generate(
            encoded,
            [self.prompt],
            beam_size=1,
            max_length=len(self.prompt) + round(_TOKENS_PER_S * duration) + 10,
            suppress_blank=True,
        )
        begin = self.tokenizer.timestamp_begin
        ids = [t for t in result[0].sequences_ids[0] if t < begin]
        return str(self.tokenizer.decode(ids)).strip()

    def full(self, x: np.ndarray) -> str:
        segments, _info = self.whisper.transcribe(x, **_FULL_DECODE)
        return " ".join(s.text.strip() for s in segments).strip()


def provenance() -> dict[str, Any]:
    """What produced a transcript of this decoder: the weights, the packages and the decoding."""
    base = asr.asr_provenance()
    for scoring_only in ("word_times", "gate_pad_s"):  # no word times, no VAD gate here
        base.pop(scoring_only, None)
    return {**base, "decode": dict(DECODE)}


_decoder: Decoder | None = None


def load() -> Decoder:
    """Load (once per process) the Whisper model and the decoder around it."""
    global _decoder
    if _decoder is None:
        _decoder = Decoder()
    return _decoder


def transcribe(samples: Samples, rate: int, window_s: float = WINDOW_S) -> str:
    """Text of ``samples`` (encoder window at least ``window_s``); empty for no audio."""
    return load().transcribe(samples, rate, window_s)
