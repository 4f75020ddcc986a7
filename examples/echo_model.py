"""An example model for duplex-bench: it answers with a delayed, pitch-shifted echo of the user.

It listens with the harness's streaming Silero VAD. Once the user has been quiet for ``silence``
seconds after speaking, it plays back what the user said, ``semitones`` higher so that the echo is
easy to tell from the user in a recording, starting ``delay`` seconds after the user's last voiced
sound. If the user speaks while it echoes, it stops at once (barge-in) and listens again.

Run it from a clone of the repository (docs/models.md walks through this file)::

    duplex-bench run --scenario turn_taking --model 'python:examples/echo_model.py:make' --limit 2
    duplex-bench run --scenario turn_taking --limit 2 \\
        --model 'python:examples.echo_model:make:delay=0.4,semitones=7'
    duplex-bench serve --model 'python:examples/echo_model.py:make'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.models.base import LockstepModel, LockstepSession, SessionInfo, StepOutput
from duplex.speech.vad import StreamingVad


@dataclass(frozen=True)
class EchoParams:
    #: seconds from the end of the last 80 ms frame the VAD calls voiced to the start of the
    #: echo (a scorer that finds the end of speech by energy measures up to ~0.15 s more)
    delay: float = 0.8
    #: seconds of quiet that end an utterance (at most ``delay``)
    silence: float = 0.5
    #: pitch shift of the echo
    semitones: float = 4.0
    #: the longest stretch of speech kept for the echo, in seconds
    max_seconds: float = 10.0

    @classmethod
    def parse(cls, arg: str) -> EchoParams:
        """``key=value,key=value``; unknown keys and bad values raise ValueError."""
        known = sorted(f.name for f in fields(cls))
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in arg.split(","))):
            key, _, raw = part.partition("=")
            if key not in known:
                raise ValueError(f"unknown parameter {key!r}; echo takes {', '.join(known)}")
            values[key] = float(raw)
        params = cls(**values)
        if not 0.0 < params.silence <= params.delay:
            raise ValueError(f"need 0 < silence <= delay, got {params.silence} and {params.delay}")
        if params.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {params.max_seconds}")
        return params


def pitch_shift(x: Samples, semitones: float) -> Samples:
    """Play ``x`` faster by the pitch ratio: higher and shorter, like a tape sped up."""
    ratio = 2.0 ** (semitones / 12.0)
    if x.size < 2:
        return x.astype(np.float32)
    at = np.arange(0.0, x.size - 1, ratio)
    return np.interp(at, np.arange(x.size), x).astype(np.float32)


class EchoSession(LockstepSession):
    """One conversation: listen, wait for the end of the utterance, echo it, stop on barge-in."""

    def __init__(self, info: SessionInfo, params: EchoParams) -> None:
        self.frame = info.frame_size
        self.rate = info.sample_rate
        self.params = params
        # Loaded here, not in a step: a lock-step run puts step time on the timeline.
        self.vad = StreamingVad(info.sample_rate)
        self.heard: list[Samples] = []  # frames of the current utterance
        self.voiced_frames = 0  # frames of ``heard`` up to and including the last voiced one
        self.quiet = 0  # samples since the last voiced frame
        self.waiting = 0  # samples still to wait before the echo starts
        self.echo = np.zeros(0, np.float32)  # what is left to play

    def step(self, frame: Samples) -> StepOutput:
        voiced = any(p >= self.vad.threshold for _, p in self.vad.push(frame))
        barge_in = voiced and self.echo.size > 0 and self.waiting <= 0  # talking over the echo
        if voiced:  # the user speaks: drop the echo, playing or still waiting, and listen
            self.echo, self.waiting, self.quiet = self.echo[:0], 0, 0
        else:
            self.quiet += frame.size
        texts: tuple[str, ...] = ()
        if voiced or self.heard:
            self._listen(frame, voiced)
        if self.waiting > 0:
            self.waiting -= frame.size
            if self.waiting <= 0:
                texts = (f"[echo of {self.echo.size / self.rate:.1f} s]",)
        out = np.zeros(self.frame, np.float32)
        if self.waiting <= 0 and self.echo.size:
            n = min(self.frame, self.echo.size)
            out[:n] = self.echo[:n]
            self.echo = self.echo[n:]
        # ``clear`` tells the harness to cut whatever of the echo is still queued for playout.
        return StepOutput(out, texts, clear=barge_in)

    def _listen(self, frame: Samples, voiced: bool) -> None:
        if len(self.heard) * self.frame < self.params.max_seconds * self.rate:
            self.heard.append(frame.copy())
            if voiced:
                self.voiced_frames = len(self.heard)
        if self.quiet >= self.params.silence * self.rate:
            speech = np.concatenate(self.heard[: self.voiced_frames])
            self.echo = pitch_shift(speech, self.params.semitones)
            # Already ``quiet`` samples after the last voiced frame; the rest of the delay to go.
            self.waiting = max(1, round(self.params.delay * self.rate) - self.quiet)
            self.heard, self.voiced_frames = [], 0


class EchoModel(LockstepModel):
    """A lock-step model: 24 kHz, one 80 ms frame out for every 80 ms frame in."""

    sample_rate = 24000
    frame_size = 1920

    def __init__(self, params: EchoParams) -> None:
        self.params = params

    def open(self, info: SessionInfo) -> LockstepSession:
        return EchoSession(info, self.params)

    def describe(self) -> dict[str, Any]:
        # Goes into run.json: whatever is needed to know exactly what was measured.
        return {**super().describe(), "params": asdict(self.params)}


def make(arg: str = "") -> EchoModel:
    """The factory named in the spec: ``python:examples/echo_model.py:make[:key=value,...]``."""
    return EchoModel(EchoParams.parse(arg))
