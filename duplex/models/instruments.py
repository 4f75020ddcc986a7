"""Instrument models: systems whose behaviour is known exactly, used to validate every metric.

All are frame-synchronous. Output frame ``n`` (answering input frame ``n``) is heard from the end of
input frame ``n``, i.e. timeline sample ``(n + 1) * frame_size`` (plus compute time). Each session
keeps a *plan*: audio scheduled at absolute timeline samples, from which every step emits the slice
it will be heard at. That is how ``oracle:latency=0.6`` lands at exactly turn end + 0.6 s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from duplex.audio import Samples
from duplex.errors import ConfigError
from duplex.models.base import LockstepModel, LockstepSession, ModelSpec, SessionInfo, StepOutput
from duplex.models.registry import SpecArgs
from duplex.models.voice import backchannel, sentence, utterance

#: heard plan samples dropped in one go (about 10 s at 24 kHz): trimming every step would copy the
#: planned future every frame
_TRIM_SAMPLES = 240_000


class PlannedSession(LockstepSession):
    """A session whose output is a plan of audio placed at absolute timeline samples."""

    def __init__(self, info: SessionInfo) -> None:
        self.info = info
        self.frame = info.frame_size
        self.n = 0  # index of the next input frame
        # The plan holds timeline samples from ``_origin`` on; what has been heard is dropped as
        # the session goes, so a long (live) session does not keep its whole output twice.
        self._plan = np.zeros(0, dtype=np.float32)
        self._origin = 0

    @property
    def heard_from(self) -> int:
        """Timeline sample where the output of the current step starts being heard."""
        return (self.n + 1) * self.frame

    def say(self, audio: Samples, at: int) -> int:
        """Schedule ``audio`` at timeline sample ``at`` or as soon as possible; return its start."""
        start = max(at, self.heard_from)
        lo, hi = start - self._origin, start - self._origin + audio.size
        if hi > self._plan.size:
            self._plan = np.concatenate([self._plan, np.zeros(hi - self._plan.size, np.float32)])
        self._plan[lo:hi] += audio
        return start

    def hush(self, at: int) -> None:
        """Drop everything planned from ``at`` on (the model stops talking)."""
        self._plan[max(at - self._origin, 0) :] = 0.0

    def planned_until(self) -> int:
        """Last sample with planned speech (0 if nothing is planned)."""
        nz = np.flatnonzero(self._plan)
        return self._origin + int(nz[-1]) + 1 if nz.size else 0

    def react(self, frame: Samples) -> None:
        """Look at one input frame (``self.n`` is its index) and plan output."""

    def step(self, frame: Samples) -> StepOutput:
        self.react(frame)
        lo = self.heard_from - self._origin
        out = self._plan[lo : lo + self.frame].astype(np.float32, copy=True)
        if out.size < self.frame:
            out = np.concatenate([out, np.zeros(self.frame - out.size, np.float32)])
        self.n += 1
        # Forget what is now in the past: nothing can be planned before heard_from.
        done = min(self.heard_from - self._origin, self._plan.size)
        if done >= _TRIM_SAMPLES:
            self._plan = self._plan[done:].copy()
            self._origin += done
        return StepOutput(audio=out)


#: How long the eager instrument talks once started: longer than any plausible session.
EAGER_TALK_S = 180.0


def warm_up(speech_seconds: float = 1.0, vad: bool = True) -> None:
    """Load the TTS voice and the VAD at model load, so that no session pays for it in a step."""
    utterance(speech_seconds, 24000)
    backchannel(24000)
    if vad:
        from duplex.speech.silero import session

        session()


class InstrumentModel(LockstepModel):
    """Common shape: parameters parsed once into a frozen dataclass, a session class per model."""

    def __init__(self, spec: ModelSpec, params: Any) -> None:
        self.spec = spec.text
        self.params = params

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "params": asdict(self.params), "instrument": True}


@dataclass(frozen=True)
class NoParams:
    pass


# ----------------------------------------------------------------------------- silent


class SilentModel(InstrumentModel):
    def open(self, info: SessionInfo) -> LockstepSession:
        return PlannedSession(info)


def make_silent(spec: ModelSpec) -> SilentModel:
    SpecArgs(spec, {})
    return SilentModel(spec, NoParams())


# ----------------------------------------------------------------------------- eager


class _EagerSession(PlannedSession):
    def __init__(self, info: SessionInfo, delay: float, vad_threshold: float) -> None:
        super().__init__(info)
        from duplex.speech.vad import StreamingVad

        self._vad = StreamingVad(info.sample_rate, threshold=vad_threshold)
        self._threshold = vad_threshold
        self._delay = round(delay * info.sample_rate)
        self._started = False
        # Prepared at open, not in a step: a step's compute time goes on the timeline.
        self._talk = utterance(EAGER_TALK_S, info.sample_rate)

    def react(self, frame: Samples) -> None:
        if self._started:
            return
        for end, prob in self._vad.push(frame):
            if prob >= self._threshold:
                self._started = True
                # Talk for the rest of any plausible session: it never yields the floor.
                self.say(self._talk, end + self._delay)
                return


@dataclass(frozen=True)
class EagerParams:
    delay: float
    vad_threshold: float


class EagerModel(InstrumentModel):
    params: EagerParams

    def open(self, info: SessionInfo) -> LockstepSession:
        return _EagerSession(info, self.params.delay, self.params.vad_threshold)


def make_eager(spec: ModelSpec) -> EagerModel:
    a = SpecArgs(spec, {"delay": "s after detected speech", "vad_threshold": "0-1"})
    warm_up()
    return EagerModel(
        spec,
        EagerParams(
            delay=a.float("delay", 0.0, high=60),
            vad_threshold=a.float("vad_threshold", 0.5, high=1),
        ),
    )


# ----------------------------------------------------------------------------- oracle


#: What the oracle answers an overlap with: different words from its answer, so that a judge
#: reading the transcripts can tell a response from a resumption.
OVERLAP_ANSWER_TEXT = (
    "Oh, sorry, go ahead. Yes, the short answer to that is no, and here is the reason why."
)
#: ... or, with ``reply=repeat``, a request to hear it again (the anchor's "uncertain handling").
OVERLAP_REPEAT_TEXT = "Sorry, I didn't catch that. Could you say that again, please?"
OVERLAP_REPLIES = {"answer": OVERLAP_ANSWER_TEXT, "repeat": OVERLAP_REPEAT_TEXT}


class _OracleSession(PlannedSession):
    """Speaks at times read from the annotations; on interruption items it can also stop ``stop``
    s after the user's interruption starts and answer ``respond`` s after it ends.

    The interruption is found in the input itself: the user channel is digital silence between
    the context turn and the interruption, so its first and last voiced samples are exact.

    On overlap items (annotation ``overlap``) the same ``stop`` and ``respond`` apply from the
    overlap's first non-zero input sample; its end is that start plus the annotated
    ``speech_duration`` (an echo tail is not speech). With ``resume`` instead of ``respond`` it
    goes on with the rest of its answer ``resume`` s after it stopped. In a clean run the overlap
    is silent, nothing is detected, and the oracle keeps talking: exactly the reference.
    """

    def __init__(self, info: SessionInfo, p: OracleParams) -> None:
        super().__init__(info)
        rate = self.rate = info.sample_rate
        ann = info.annotations
        # With a stop time, speak without pauses so the stop always falls inside speech.
        talk = utterance(p.length, rate, gapless=p.stop is not None)
        if p.mode == "turn_end":
            self.say(talk, round((ann.turn_end + p.latency) * rate))
        elif p.mode == "pause":
            for pause in ann.pauses:
                self.say(talk, round((pause.start + p.latency) * rate))
        elif p.mode == "backchannel":
            bc = backchannel(rate)
            for point in ann.backchannel_points:
                self.say(bc, round((point.t + p.latency) * rate))
        interrupt = ann.interrupt
        overlap = ann.overlap
        self._watch_from: int | None = None
        reacts = p.stop is not None or p.respond is not None
        if interrupt is not None and reacts:
            armed = interrupt.armed_at if interrupt.armed_at is not None else ann.turn_end
            self._watch_from = round(armed * rate)
        self._stop, self._respond, self._resume = p.stop, p.respond, p.resume
        self._answer = utterance(p.length, rate)
        self._cue_start: int | None = None
        self._cue_last = 0  # last voiced input sample seen since the interruption started
        self._overlap_len: int | None = None
        if overlap is not None and reacts:
            armed = overlap.armed_at if overlap.armed_at is not None else ann.turn_end
            self._watch_from = round(armed * rate)
            self._overlap_len = round((overlap.speech_duration or overlap.duration or 0.0) * rate)
            reply = OVERLAP_REPLIES[p.reply]
            # A request to repeat is said once; an answer runs for the oracle's length.
            self._answer = (
                utterance(p.length, rate, reply) if p.reply == "answer" else sentence(reply, rate)
            )

    def _on_overlap(self, start: int) -> None:
        """Plan the reaction to an overlap that starts at ``start`` (its length is known)."""
        assert self._overlap_len is not None
        self._watch_from = None
        if self._stop is not None:
            stop_at = start + round(self._stop * self.rate)
            lo = max(stop_at - self._origin, 0)
            rest = self._plan[lo:].copy()
            self.hush(stop_at)
            if self._resume is not None and rest.any():
                self.say(rest, stop_at + round(self._resume * self.rate))
        if self._respond is not None:
            end = start + self._overlap_len
            self.say(self._answer, end + round(self._respond * self.rate))

    def react(self, frame: Samples) -> None:
        if self._watch_from is None:
            return
        base = self.n * self.frame
        voiced = base + np.flatnonzero(frame)
        voiced = voiced[voiced >= self._watch_from]
        if self._overlap_len is not None:
            if voiced.size:
                self._on_overlap(int(voiced[0]))
            return
        if self._cue_start is None:
            if voiced.size == 0:
                return
            self._cue_start = int(voiced[0])
            if self._stop is not None:
                self.hush(self._cue_start + round(self._stop * self.rate))
        if voiced.size:
            self._cue_last = int(voiced[-1])
        elif self._respond is not None:  # a silent frame after the interruption: it has ended
            self.say(self._answer, self._cue_last + 1 + round(self._respond * self.rate))
            self._watch_from = None


@dataclass(frozen=True)
class OracleParams:
    mode: str
    latency: float
    length: float
    stop: float | None = None
    respond: float | None = None
    resume: float | None = None
    reply: str = "answer"


class OracleModel(InstrumentModel):
    params: OracleParams
    needs_annotations = True

    def open(self, info: SessionInfo) -> LockstepSession:
        return _OracleSession(info, self.params)


def make_oracle(spec: ModelSpec) -> OracleModel:
    a = SpecArgs(
        spec,
        {
            "mode": "turn_end | pause | backchannel: where it speaks",
            "latency": "s after the turn end, pause start or backchannel reference point",
            "length": "s of speech",
            "stop": "s after an interruption starts at which it stops talking (default: never)",
            "respond": "s after an interruption ends at which it answers (default: never)",
            "resume": "overlap items: s after stopping at which it goes on with its answer "
            "(needs stop; excludes respond)",
            "reply": "overlap items, with respond: answer (new words) | repeat (asks to hear "
            "the overlap again)",
        },
    )
    params = OracleParams(
        mode=a.choice("mode", "turn_end", ("turn_end", "pause", "backchannel")),
        latency=a.float("latency", 0.6, high=60),
        length=a.float("length", 2.0, low=0.05, high=600),
        stop=a.optional_float("stop", high=60),
        respond=a.optional_float("respond", high=60),
        resume=a.optional_float("resume", high=60),
        reply=a.choice("reply", "answer", tuple(OVERLAP_REPLIES)),
    )
    if params.resume is not None and (params.stop is None or params.respond is not None):
        raise ConfigError(f"model {spec.text!r}: resume needs stop and excludes respond")
    warm_up(vad=False)
    # synthesised at load, not in a step (a step's compute time is on the timeline)
    utterance(params.length, 24000, OVERLAP_ANSWER_TEXT)
    sentence(OVERLAP_REPEAT_TEXT, 24000)
    return OracleModel(spec, params)


# ----------------------------------------------------------------------------- scripted


class _ScriptedSession(PlannedSession):
    """A silence-timer turn-taker driven by a real VAD.

    End of speech is the last voiced sample (the VAD's last speech chunk, refined by energy); the
    turn is over after ``silence`` s without speech, and the reply is planned at end of speech +
    ``latency`` (or at once, if that moment has already passed).
    """

    def __init__(self, info: SessionInfo, params: ScriptedParams) -> None:
        super().__init__(info)
        from duplex.speech.vad import StreamingVad

        rate = info.sample_rate
        self.rate = rate
        self._threshold = params.vad_threshold
        self._vad = StreamingVad(rate, threshold=self._threshold)
        self._latency = round(params.latency * rate)
        self._silence = round(params.silence * rate)
        self._reply = utterance(params.length, rate)
        self._bc = backchannel(rate) if params.backchannel else None
        self._bc_gap = round(params.backchannel_gap * rate)
        self._barge_in = params.barge_in
        self._history = np.zeros(0, dtype=np.float32)  # recent input, for edge refinement
        self._history_start = 0
        self._speech_end: int | None = None  # last voiced sample of the current user turn
        self._speech_run = 0  # consecutive voiced samples, for barge-in
        self._reply_span: tuple[int, int] | None = None
        self._last_bc = -self._bc_gap

    def _remember(self, frame: Samples) -> None:
        keep = self.rate  # one second is enough to find an edge inside the last VAD chunk
        self._history = np.concatenate([self._history, frame])[-keep:]
        self._history_start = (self.n + 1) * self.frame - self._history.size

    def _refined_end(self, chunk_end: int) -> int:
        """Last sample, at or before ``chunk_end``, of a 5 ms window above -45 dBFS."""
        lo = self._history_start
        seg = self._history[: max(0, chunk_end - lo)]
        win = max(1, self.rate // 200)
        n = seg.size // win
        if n == 0:
            return chunk_end
        energy = np.sqrt(np.mean(np.square(seg[-n * win :].reshape(n, win)), axis=1))
        loud = np.flatnonzero(energy > 10 ** (-45 / 20))
        if loud.size == 0:
            return chunk_end
        return lo + (seg.size - n * win) + int(loud[-1] + 1) * win

    def react(self, frame: Samples) -> None:
        self._remember(frame)
        now = (self.n + 1) * self.frame  # the input has been heard up to here
        for end, prob in self._vad.push(frame):
            voiced = prob >= self._threshold
            self._on_chunk(end, voiced)
        speaking = self._reply_span is not None and self._reply_span[1] > self.heard_from
        if self._speech_end is None or speaking:
            return
        silent_for = now - self._speech_end
        if silent_for >= self._silence:
            end = self._refined_end(self._speech_end)
            start = self.say(self._reply, end + self._latency)
            self._reply_span = (start, start + self._reply.size)
            self._speech_end = None
        elif (
            self._bc is not None
            and silent_for >= int(0.2 * self.rate)
            and now - self._last_bc >= self._bc_gap
        ):
            self._last_bc = self.say(self._bc, now)

    def _on_chunk(self, end: int, voiced: bool) -> None:
        if not voiced:
            self._speech_run = 0
            return
        self._speech_run += 512 * self.rate // 16000
        reply = self._reply_span
        if reply is not None and reply[1] > self.heard_from:
            if reply[0] > self.heard_from:
                # The user went on before the reply began: it was a pause, not the end of a turn.
                self.hush(reply[0])
                self._reply_span = None
            elif self._barge_in and self._speech_run >= int(0.2 * self.rate):
                self.hush(self.heard_from)
                self._reply_span = None
        self._speech_end = end


@dataclass(frozen=True)
class ScriptedParams:
    latency: float
    silence: float
    length: float
    backchannel: bool
    backchannel_gap: float
    barge_in: bool
    vad_threshold: float


class ScriptedModel(InstrumentModel):
    params: ScriptedParams

    def open(self, info: SessionInfo) -> LockstepSession:
        return _ScriptedSession(info, self.params)


def make_scripted(spec: ModelSpec) -> ScriptedModel:
    a = SpecArgs(
        spec,
        {
            "latency": "s from end of user speech to reply",
            "silence": "s of silence that ends a turn",
            "length": "s of reply speech",
            "backchannel": "0/1: say mm-hmm in short user pauses",
            "backchannel_gap": "min s between backchannels",
            "barge_in": "0/1: stop talking when the user talks over it",
            "vad_threshold": "0-1",
        },
    )
    warm_up()
    return ScriptedModel(
        spec,
        ScriptedParams(
            latency=a.float("latency", 0.6, high=60),
            silence=a.float("silence", 0.5, low=0.05, high=10),
            length=a.float("length", 2.0, low=0.05, high=600),
            backchannel=a.bool("backchannel", False),
            backchannel_gap=a.float("backchannel_gap", 4.0, low=0.5, high=600),
            barge_in=a.bool("barge_in", False),
            vad_threshold=a.float("vad_threshold", 0.5, high=1),
        ),
    )
