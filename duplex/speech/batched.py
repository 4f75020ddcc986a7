"""Whisper over planned windows, many windows (of one or many recordings) in one pass.

Each window (:mod:`duplex.speech.windows`) is decoded on its own, without timestamp tokens, the
way faster-whisper's batched pipeline decodes: one segment per window, word times from the
cross-attention alignment. Without timestamps the decoder never stops half-way to be resumed in
a next window, so a window is decoded exactly once. The pieces come from faster-whisper
(features, encoder, CTranslate2's beam search, word alignment); the loop is ours because:

- windows of *different* recordings share the encoder and decoder batches, and each window's
  result must not depend on which others it was batched with. CTranslate2 computes every batch
  row on its own: the tokens are the same for a window decoded alone or in a batch of 8 (checked
  in the tests), so a transcript is still a function of its recording only. faster-whisper's
  pipeline carries its word-timing state from one window to the next across recordings, so it is
  not used as is;
- Whisper's no-speech rule is kept (a window whose first token is "no speech" with probability
  over 0.6 and whose tokens average a log-probability under -1 yields no words), as in the
  one-window-at-a-time loop this replaces.
"""

from __future__ import annotations

import concurrent.futures
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from duplex.audio import Samples

RATE = 16000
FRAMES_PER_SECOND = 100  # Whisper's mel frames
WINDOW_FRAMES = 3000
#: Windows decoded in one CTranslate2 call: on 2 cores beam search costs 40 % less per window at 8
#: than one at a time (measured), and the encoder's batch costs what its windows cost alone.
BATCH = 8
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0


@dataclass(frozen=True)
class Job:
    """One window: samples ``[start, end)`` of 16 kHz ``audio``; ``recording`` groups windows
    whose word-timing state carries over (in order)."""

    recording: int
    audio: Samples
    start: int
    end: int


@dataclass(frozen=True)
class RawWord:
    start: float  # seconds in the recording
    end: float
    text: str
    probability: float


class BatchDecoder:
    """Decodes :class:`Job` lists with a faster-whisper ``WhisperModel`` (beam 5, English)."""

    def __init__(self, model: Any, beam_size: int = 5) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model = model
        self.beam_size = beam_size
        self.tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
        )
        self.prompt = model.get_prompt(self.tokenizer, [], without_timestamps=True)
        self.suppress = list(get_suppressed_tokens(self.tokenizer, [-1]))
        # faster-whisper's own defaults for gluing punctuation to words, read from its signature
        # so the word texts stay as its transcribe() makes them.
        params = inspect.signature(type(model).transcribe).parameters
        self.punctuation = (
            params["prepend_punctuations"].default,
            params["append_punctuations"].default,
        )

    def decode(self, jobs: Sequence[Job]) -> list[list[RawWord]]:
        """Words of every job, in job order; jobs of one recording must be in time order."""
        out: list[list[RawWord]] = []
        last_speech: dict[int, float] = {}
        for i in range(0, len(jobs), BATCH):
            out += self._batch(jobs[i : i + BATCH], last_speech)
        return out

    def encode(self, jobs: Sequence[Job]) -> tuple[Any, list[int]]:
        """The encoder's output for ``jobs`` (one batch) and each window's mel frames."""
        from faster_whisper.audio import pad_or_trim

        model = self.model
        feats, frames = [], []
        for job in jobs:
            mel = model.feature_extractor(job.audio[job.start : job.end])[..., :-1]
            frames.append(min(WINDOW_FRAMES, mel.shape[-1]))
            feats.append(pad_or_trim(mel))
        return model.encode(np.stack(feats)), frames

    def encode_only(self, jobs: Sequence[Job]) -> list[list[RawWord]]:
        """No words: the encoder's passes over ``jobs`` alone, batched as :meth:`decode` does
        (what decoding costs beyond the encoder is measured against this: `bench scoring`)."""
        for i in range(0, len(jobs), BATCH):
            self.encode(jobs[i : i + BATCH])
        return [[] for _ in jobs]

    def _batch(self, jobs: Sequence[Job], last_speech: dict[int, float]) -> list[list[RawWord]]:
        import ctranslate2

        model = self.model
        encoded, frames = self.encode(jobs)
        results = model.model.generate(
            encoded,
            [self.prompt] * len(jobs),
            beam_size=self.beam_size,
            max_length=model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress,
        )
        rows = np.asarray(encoded) if len(jobs) > 1 else None
        out: list[list[RawWord]] = []
        for k, (job, result) in enumerate(zip(jobs, results, strict=True)):
            if _no_speech(result):
                out.append([])
                continue
            # The alignment of one window needs that window's encoder output alone.
            enc = encoded if rows is None else ctranslate2.StorageView.from_array(rows[k : k + 1])
            words, last = self._words(job, result.sequences_ids[0], enc, frames[k], last_speech)
            last_speech[job.recording] = last
            out.append(words)
        return out

    def _words(
        self, job: Job, tokens: list[int], enc: Any, frames: int, last_speech: dict[int, float]
    ) -> tuple[list[RawWord], float]:
        offset = job.start / RATE
        segment: dict[str, Any] = {
            "seek": round(offset * FRAMES_PER_SECOND),
            "start": offset,
            "end": offset + frames / FRAMES_PER_SECOND,
            "tokens": tokens,
        }
        previous = last_speech.get(job.recording, 0.0)
        last = self.model.add_word_timestamps(
            [[segment]], self.tokenizer, enc, frames, *self.punctuation, previous
        )
        # Whisper's loop drops a segment that is empty or has no duration; so do we.
        if segment["start"] == segment["end"] or not self.tokenizer.decode(tokens).strip():
            return [], previous
        words = [
            RawWord(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
            for w in segment.get("words") or ()
        ]
        return words, float(last) if last is not None else previous


def decode_parallel(
    decoder: BatchDecoder, jobs: Sequence[Job], workers: int, *, words: bool = True
) -> list[list[RawWord]]:
    """:meth:`BatchDecoder.decode` with the recordings shared out between ``workers`` threads
    (``words`` False: :meth:`BatchDecoder.encode_only`).

    Whole recordings go to one thread (their windows carry word-timing state in order), the
    largest first to the least loaded; the decoder's model must allow ``workers`` calls at once.
    """
    decode = decoder.decode if words else decoder.encode_only
    if workers <= 1 or len({j.recording for j in jobs}) <= 1:
        return decode(jobs)
    sizes: dict[int, int] = {}
    for job in jobs:
        sizes[job.recording] = sizes.get(job.recording, 0) + 1
    loads = [0] * workers
    owner: dict[int, int] = {}
    for rec in sorted(sizes, key=lambda r: -sizes[r]):
        w = loads.index(min(loads))
        owner[rec] = w
        loads[w] += sizes[rec]
    groups = [[i for i, j in enumerate(jobs) if owner[j.recording] == w] for w in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="whisper") as pool:
        parts = list(pool.map(lambda g: decode([jobs[i] for i in g]), groups))
    out: list[list[RawWord]] = [[] for _ in jobs]
    for group, part in zip(groups, parts, strict=True):
        for i, found in zip(group, part, strict=True):
            out[i] = found
    return out


def _no_speech(result: Any) -> bool:
    tokens = result.sequences_ids[0]
    # The beam's score is its length-normalised log-probability; as faster-whisper, average it
    # over the tokens and the end token.
    avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
    return bool(result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < NO_SPEECH_LOGPROB)
