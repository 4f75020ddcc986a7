"""Speaking: reply text cut into speakable pieces, synthesised one piece at a time, played out.

The first piece is cut as early as it can be spoken naturally (at a sentence end, or at a comma
after a few words) so that the reply starts while the rest is still being generated; later pieces
are sentences or clauses of at least five words. Each piece costs one Piper call (about 0.1 s
per second of speech here).
"""

from __future__ import annotations

import functools
import re

import numpy as np

from duplex.audio import Samples, resample, trim_silence
from duplex.speech.tts import synthesize

_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:]\s")
#: words a clause must have before a comma may end the first piece ("Well," is too short)
FIRST_CLAUSE_MIN_WORDS = 3
#: the same for later pieces: one Piper call blocks the agent's frame path for its whole cost
#: (0.1 s per second of speech), so a long sentence is cut at its commas as well
CLAUSE_MIN_WORDS = 5
_SPEAKABLE = re.compile(r"[A-Za-z0-9]")
_MARKUP = re.compile(r"[*_#`~<>\[\]{}|]+")


class Segmenter:
    """Accumulates streamed text and hands out complete pieces."""

    def __init__(self) -> None:
        self.buffer = ""
        self.pieces_out = 0

    def push(self, text: str) -> list[str]:
        self.buffer += text
        out: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                return out
            piece, self.buffer = self.buffer[:cut].strip(), self.buffer[cut:]
            if _SPEAKABLE.search(piece):
                out.append(piece)
                self.pieces_out += 1

    def flush(self) -> list[str]:
        piece, self.buffer = self.buffer.strip(), ""
        if _SPEAKABLE.search(piece):
            self.pieces_out += 1
            return [piece]
        return []

    def _cut(self) -> int | None:
        m = _SENTENCE_END.search(self.buffer)
        min_words = FIRST_CLAUSE_MIN_WORDS if self.pieces_out == 0 else CLAUSE_MIN_WORDS
        for c in _CLAUSE_END.finditer(self.buffer):
            if m is not None and c.start() > m.start():
                break
            if len(self.buffer[: c.start()].split()) >= min_words:
                return c.end()
        return m.end() if m else None


def clean(text: str) -> str:
    """Text as it should be spoken: markup and emoji dropped, whitespace collapsed."""
    text = _MARKUP.sub(" ", text)
    text = "".join(ch for ch in text if ord(ch) < 0x2000 or ch in "’‘“”–—…")
    return " ".join(text.split())


def speak(text: str, rate: int) -> Samples:
    """``text`` synthesised with the Piper voice at ``rate``, leading/trailing silence trimmed."""
    text = clean(text)
    if not _SPEAKABLE.search(text):
        return np.zeros(0, np.float32)
    audio, tts_rate = synthesize(text)
    return trim_silence(resample(audio, tts_rate, rate), rate)


@functools.lru_cache(maxsize=32)
def cached_speech(text: str, rate: int) -> Samples:
    """For fixed phrases (backchannels): synthesised once per process."""
    return speak(text, rate)


class Playout:
    """Audio waiting to be emitted, one frame per step, and what of it has been played."""

    def __init__(self, frame: int, rate: int) -> None:
        self.frame = frame
        self.rate = rate
        self._queue: list[tuple[Samples, str]] = []  # pieces not fully played, with their text
        self._pos = 0  # samples of the head piece already played
        self.spoken_text: list[str] = []  # pieces (or their played part) actually heard

    def add(self, audio: Samples, text: str, gap_s: float = 0.12) -> None:
        gap = np.zeros(round(gap_s * self.rate) if self._queue or self.spoken_text else 0)
        self._queue.append((np.concatenate([audio, gap.astype(np.float32)]), text))

    @property
    def active(self) -> bool:
        return bool(self._queue)

    @property
    def queued_samples(self) -> int:
        return sum(a.size for a, _ in self._queue) - self._pos

    def next_frame(self) -> Samples:
        out = np.zeros(self.frame, np.float32)
        filled = 0
        while filled < self.frame and self._queue:
            audio, text = self._queue[0]
            take = min(self.frame - filled, audio.size - self._pos)
            out[filled : filled + take] = audio[self._pos : self._pos + take]
            filled += take
            self._pos += take
            if self._pos >= audio.size:
                self._queue.pop(0)
                self._pos = 0
                self.spoken_text.append(text)
        return out

    def clear(self) -> None:
        """Stop: drop what is queued; the piece cut mid-way counts as spoken up to its words."""
        if self._queue and self._pos > 0:
            audio, text = self._queue[0]
            ws = text.split()
            heard = ws[: max(1, round(len(ws) * self._pos / max(1, audio.size)))]
            self.spoken_text.append(" ".join(heard) + " -")
        self._queue.clear()
        self._pos = 0
