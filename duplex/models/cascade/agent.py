"""One conversation: the session state machine of the cascade.

States (``self.state``):

``listen``   VAD on every frame. When the user's turn has been silent for ``check_silence`` the
             partial transcript is checked (one ASR call, the heaviest step). A turn that the
             text rule (:mod:`.turn`) finds complete and to which the LLM gives an end-of-turn
             probability of at least ``eot_threshold`` starts a reply - that probability comes
             from the pre-fill the reply needs anyway; an unfinished one is held (maybe with a
             backchannel) until the user goes on or ``max_silence`` passes.
``think``    the reply is prepared one unit of work per step - the LLM prefill, then
             ``step_budget`` s of decoded tokens, or one Piper call for a finished piece - so no
             single step is much longer than the ASR call. User speech here means the silence
             was a pause: the reply is dropped and the turn goes on.
``speak``    playout, one frame per step, with the remaining units of work interleaved.
             Overlapping user speech of ``barge_pause`` pauses playout; ``barge_confirm`` of it
             (or a short overlap whose transcript is not a backchannel) ends the reply and starts
             a new user turn from the overlap's first voiced sample; a "yeah" or a cough resumes.

All work happens synchronously inside ``step``: no threads, so lock-step and real time see the same
sequence of work, and the simulator puts its cost on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from duplex.audio import Samples
from duplex.models.base import LockstepSession, SessionInfo, StepOutput
from duplex.models.cascade import listen, speech_out, turn
from duplex.models.cascade.llm import Conversation, Llm, Reply
from duplex.models.cascade.params import CascadeParams
from duplex.speech.vad import StreamingVad

#: said in turn, one per backchannel. Piper's "Mm-hmm." is heard by Whisper as "No." (and "Uh-huh."
#: as "a house."), which a listener - or a word-based metric - would take for content.
BACKCHANNELS = ("Right.", "I see.", "Yeah.")
#: audio kept before a turn's first voiced chunk, so the ASR hears the whole first word
TURN_PAD_S = 0.25
_HYSTERESIS = 0.15


@dataclass
class StageTimes:
    """Compute seconds and calls per stage, for the benchmark's real-time factors."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    audio_s: dict[str, float] = field(default_factory=dict)  # audio heard (asr) or made (tts)

    def add(self, stage: str, dt: float, audio_s: float = 0.0) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + dt
        self.calls[stage] = self.calls.get(stage, 0) + 1
        self.audio_s[stage] = self.audio_s.get(stage, 0.0) + audio_s


class CascadeSession(LockstepSession):
    def __init__(self, info: SessionInfo, params: CascadeParams, llm: Llm) -> None:
        self.p = params
        self.clock = info.stopwatch  # compute time as the session measures it
        self.rate = info.sample_rate
        self.frame = info.frame_size
        self.llm = llm
        self.vad = StreamingVad(self.rate, threshold=params.vad_threshold)
        self.conv = Conversation(llm)
        self.times = StageTimes()
        self.log: list[tuple[float, str]] = []  # (session seconds, what happened), for tests
        self.n = 0
        self._input = np.zeros(info.frame_size * 256, np.float32)  # user input, grown by doubling
        self._filled = 0
        self.state = "listen"
        # user-side tracking
        self.in_speech = False
        self.voiced_run = 0  # samples of the current run of voiced chunks
        self.last_voiced = -1  # end sample of the last voiced chunk
        self.turn_start: int | None = None
        self.turn_voiced = 0  # voiced samples in the current turn
        self.checked_at = -1  # last_voiced at the last transcript check
        self.partial = ""
        self.last_bc = -(10**9)
        self.backchannels = 0
        # reply side
        self.reply: Reply | None = None
        self.segmenter = speech_out.Segmenter()
        self.pieces: list[str] = []  # cut, not yet synthesised
        self.playout = speech_out.Playout(self.frame, self.rate)
        self.sentences = 0
        self.words_queued = 0  # words of the reply handed to TTS (max_words)
        self.paused_at: int | None = None  # overlap start while playout is paused
        self._clear = False  # cut queued playout with the next output frame
        self._voice_on = False  # the previous output frame was reply speech

    # ------------------------------------------------------------------ helpers
    def sec(self, seconds: float) -> int:
        return round(seconds * self.rate)

    @property
    def now(self) -> int:
        return (self.n + 1) * self.frame

    @property
    def audio(self) -> Samples:
        """All user input so far (a view)."""
        return self._input[: self._filled]

    def _append(self, frame: Samples) -> None:
        # Concatenating every frame would copy the whole session each step: quadratic, and
        # measurable in a long live session.
        end = self._filled + frame.size
        if end > self._input.size:
            grown = np.zeros(max(end, 2 * self._input.size), np.float32)
            grown[: self._filled] = self.audio
            self._input = grown
        self._input[self._filled : end] = frame
        self._filled = end

    def note(self, what: str) -> None:
        self.log.append((self.now / self.rate, what))

    def timed(self, stage: str, t0: float, samples: int = 0) -> None:
        self.times.add(stage, self.clock() - t0, samples / self.rate)

    # ------------------------------------------------------------------ the step
    def step(self, frame: Samples) -> StepOutput:
        self._append(frame)
        t0 = self.clock()
        chunks = self.vad.push(frame)
        self.timed("vad", t0, self.frame)
        for end, prob in chunks:
            self._on_chunk(end, prob)
        texts: list[str] = []
        if self.state == "listen":
            self._listen(texts)
        elif self.state in ("think", "speak"):
            self._respond(texts)
        # Cut queued output when the voice stops for the user (pause, barge-in) and when a reply
        # starts or resumes: a slow step leaves a backlog of frames in the playout queue, and
        # without the cut the reply would wait behind queued silence and a stop behind queued
        # speech - a playout buffer of a real agent is flushed at exactly these moments.
        clear = self._clear
        self._clear = False
        if self.state == "speak" and self.paused_at is None and self.playout.active:
            out = self.playout.next_frame()
            clear = clear or not self._voice_on
            self._voice_on = True
        else:
            out = np.zeros(self.frame, np.float32)
            self._voice_on = False
            if self.state == "listen" and self.playout.active:  # a backchannel
                out = self.playout.next_frame()
        if self.state == "speak" and not self.playout.active and self._reply_finished():
            self._end_reply("done")
        self.n += 1
        return StepOutput(audio=out, texts=tuple(texts), clear=clear)

    def _on_chunk(self, end: int, prob: float) -> None:
        chunk = round(512 * self.rate / 16000)
        threshold = self.p.vad_threshold - (_HYSTERESIS if self.in_speech else 0.0)
        if prob >= threshold:
            if not self.in_speech:
                self.voiced_run = 0
            self.in_speech = True
            self.voiced_run += chunk
            self.last_voiced = end
            if self.state == "listen" and self.turn_start is None:
                self.turn_start = max(0, end - chunk - self.sec(TURN_PAD_S))
                self.turn_voiced = 0
            if self.state == "listen":
                self.turn_voiced += chunk
        else:
            self.in_speech = False
            self.voiced_run = 0

    # ------------------------------------------------------------------ listening
    def _listen(self, texts: list[str]) -> None:
        if self.turn_start is None or self.in_speech:
            return
        silence = self.now - self.last_voiced
        if silence < self.sec(self.p.check_silence):
            return
        if self.p.eot == "silence":
            if silence >= self.sec(self.p.max_silence):
                self._transcribe()
                self._take_turn(texts, "silence timer")
            return
        if self.checked_at != self.last_voiced:
            self._transcribe()
            self.checked_at = self.last_voiced
            judgement = turn.judge(self.partial)
            self.note(f"check {self.partial!r}: {judgement.reason}")
            if not turn.words(self.partial):
                self._drop_turn()
                return
            if judgement.complete and self.p.eot == "lm":
                reply = self.conv.start_reply(self.partial, self.p.max_tokens)
                t0 = self.clock()
                p_eot = reply.eot_probability()
                self.timed("llm", t0)
                if p_eot >= self.p.eot_threshold:
                    self._take_turn(texts, f"{judgement.reason}, p(eot)={p_eot:.2f}", reply)
                    return
                self.note(f"hold: p(eot)={p_eot:.2f}")
                self.conv.cancel_reply()
            elif judgement.complete:
                self._take_turn(texts, judgement.reason)
                return
            self._maybe_backchannel(texts)
        elif silence >= self.sec(self.p.max_silence):
            self._take_turn(texts, "max silence")

    def _transcribe(self) -> None:
        assert self.turn_start is not None
        t0 = self.clock()
        self.partial = listen.transcribe(
            self.audio[self.turn_start :], self.rate, self.p.asr_window
        )
        self.timed("asr", t0, self.audio.size - self.turn_start)

    def _drop_turn(self) -> None:
        self.turn_start = None
        self.partial = ""

    def _maybe_backchannel(self, texts: list[str]) -> None:
        p = self.p
        if not p.backchannel or self.in_speech or self.playout.active:
            return
        if self.turn_voiced < self.sec(p.bc_min_turn):
            return
        if self.now - self.last_bc < self.sec(p.bc_gap):
            return
        text = BACKCHANNELS[self.backchannels % len(BACKCHANNELS)]
        self.backchannels += 1
        self.playout.add(speech_out.cached_speech(text, self.rate), text)
        self.last_bc = self.now
        texts.append(text)
        self.note(f"backchannel {text!r}")

    def _take_turn(self, texts: list[str], why: str, reply: Reply | None = None) -> None:
        self.note(f"take turn ({why}): {self.partial!r}")
        self.reply = reply or self.conv.start_reply(self.partial, self.p.max_tokens)
        self.segmenter = speech_out.Segmenter()
        self.pieces = []
        self.sentences = 0
        self.words_queued = 0
        self.playout.spoken_text = []
        self.state = "think"

    # ------------------------------------------------------------------ replying
    def _reply_finished(self) -> bool:
        return self.reply is None or (self.reply.done and not self.pieces)

    def _respond(self, texts: list[str]) -> None:
        if self._overlap(texts):
            return
        reply = self.reply
        if reply is None:
            return
        if self.in_speech or self.paused_at is not None:
            # The user may be taking the floor: a unit of work now would delay the step that
            # stops the voice by its whole cost (a Piper call is up to a few tenths of a second).
            return
        t0 = self.clock()
        if self.pieces:
            piece = self.pieces.pop(0)
            speech = speech_out.speak(piece, self.rate)
            self.playout.add(speech, piece)
            texts.append(piece)
            self.timed("tts", t0, speech.size)
            if self.state == "think":
                self.state = "speak"
                self.note(f"speak {piece!r}")
            return
        if reply.done:
            return
        if not reply.prefilled:
            reply.prefill()
        # A step that finishes early waits for the next frame, so a fixed count of tokens per
        # step would pace decoding by the frame clock rather than by the machine: decode until
        # ``step_budget`` of compute is spent (at most tokens_per_step tokens).
        for i in range(self.p.tokens_per_step):
            # At least one token per step, whatever the budget, so a reply always progresses.
            if i and self.clock() - t0 >= self.p.step_budget:
                break
            new = reply.next_token()
            cut = self.segmenter.push(new) if new else []
            if reply.done:
                cut += self.segmenter.flush()
            for piece in cut:
                if self.sentences < self.p.max_sentences and self._words_left() != 0:
                    piece = self._within_words(piece)
                    self.pieces.append(piece)
                    self.sentences += piece.rstrip()[-1:] in ".!?" or reply.done
            if self.sentences >= self.p.max_sentences or self._words_left() == 0:
                reply.done = True
            if reply.done or cut:
                break
        self.timed("llm", t0)

    def _words_left(self) -> int | None:
        """Words the reply may still say under ``max_words`` (None: no limit)."""
        return None if self.p.max_words == 0 else self.p.max_words - self.words_queued

    def _within_words(self, piece: str) -> str:
        left = self._words_left()
        words = piece.split()
        if left is not None:
            words = words[:left]
        self.words_queued += len(words)
        return " ".join(words)

    def _overlap(self, texts: list[str]) -> bool:
        """Handle user speech during the reply; True if the reply was abandoned."""
        p = self.p
        if self.state == "think":
            if self.voiced_run >= self.sec(p.barge_pause):
                self.note("user went on: it was a pause")
                self.conv.cancel_reply()
                self.reply = None
                self.state = "listen"
                return True
            return False
        if not p.barge_in:
            return False
        if self.paused_at is None:
            if self.voiced_run >= self.sec(p.barge_pause):
                self.paused_at = max(0, self.last_voiced - self.voiced_run)
                self._clear = True
                self.note("paused for overlapping speech")
            return False
        overlap_voiced = self.last_voiced - self.paused_at
        if self.in_speech and overlap_voiced >= self.sec(p.barge_confirm):
            self._barge_in("sustained overlap")
            return True
        if not self.in_speech and self.now - self.last_voiced >= self.sec(p.check_silence):
            t0 = self.clock()
            start = max(0, self.paused_at - self.sec(TURN_PAD_S))
            heard = listen.transcribe(self.audio[start:], self.rate, self.p.asr_window)
            self.timed("asr", t0, self.audio.size - start)
            if turn.is_backchannel(heard):
                self.note(f"resume after {heard!r}")
                self.paused_at = None
                return False
            self._barge_in(f"overlap said {heard!r}")
            return True
        return False

    def _barge_in(self, why: str) -> None:
        self.note(f"barge-in: {why}")
        start = self.paused_at if self.paused_at is not None else self.last_voiced
        self._end_reply("interrupted")
        self.turn_start = max(0, start - self.sec(TURN_PAD_S))
        self.turn_voiced = self.voiced_run
        self.checked_at = -1

    def _end_reply(self, why: str) -> None:
        self._clear = why != "done"
        self.playout.clear()
        if self.reply is not None:
            self.conv.finish_reply(" ".join(self.playout.spoken_text))
        self.note(f"reply {why}")
        self.reply = None
        self.pieces = []
        self.paused_at = None
        self.state = "listen"
        self.turn_start = None
        self.partial = ""
