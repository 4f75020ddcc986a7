"""The examiner: a simulated user that holds a conversation with the model on the session timeline.

It is a :class:`~duplex.simulator.user.UserSide`: frame ``n`` of the user channel is decided from
the model audio placed before ``(n - 1) * F``, on either clock. Per frame it

1. *hears*: a streaming VAD over the model channel (:mod:`.hearing`) tells where the model's
   voice is;
2. *decides*: after its own line it waits for the model's reply; once the model has been silent
   for the policy's ``silence_s`` it transcribes the reply (the cascade's short-window Whisper,
   :mod:`duplex.models.cascade.listen`) and checks that it reads as finished
   (:mod:`duplex.models.cascade.turn`), taking the turn anyway after ``max_silence_s``; a fast
   examiner cuts a model turn longer than ``barge_after_s`` short; a slow one stops its own line
   when talked over for ``yield_after_s`` and says the goal again;
3. *speaks*: the next goal's line, written by the writer (:mod:`.writer`) and synthesised in the
   item's voice (:mod:`.voice`), placed frame by frame from the frame where it was decided. A
   writer whose lines depend only on the goal (the script, the embedded model's rewrites) has
   them written before the session (``prepared``): every model hears the same lines.

Transcribing, writing and synthesising are one *job*, run by the executor the driver attached:
inline in lock-step (the line starts in the frame that decided it; nothing depends on how long
the job took, so reruns are identical), on a worker thread in real time (the line starts at the
first frame after the job is done, as a real examiner's would).

It ends when every goal has been pursued (``goal_met``: it says a closing phrase and listens
``tail_s`` more), when its turns run out (``max_turns``), when the model has not answered for
``give_up_s`` (``model_silent``), or at ``max_seconds`` (the session's last frame). The turns it
took and why it ended go into the session's annotations (``Annotations.conversation``), and each
turn is a ``UserCueFired("examiner", ...)`` event.
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from duplex.annotations import Annotations, ExaminerTurn
from duplex.audio import Samples
from duplex.conversation.hearing import ModelTrack
from duplex.conversation.policy import POLICIES
from duplex.conversation.writer import CLOSING, Line, LineRequest, Writer
from duplex.errors import BackendError, ConfigError
from duplex.events import UserCueFired
from duplex.models.cascade import turn
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.user import InlineExecutor, UserSide

#: audio kept before the model's first voiced chunk when transcribing its turn
HEAR_PAD_S = 0.25
#: a line cut before this share of it was said is said again
REPEAT_BELOW = 0.75
#: fade applied where the examiner stops mid-line
FADE_S = 0.01

Hear = Callable[[Samples, int], str]
Speak = Callable[[str], Samples]


@dataclass(frozen=True)
class _Next:
    """What the examiner says next: a goal's line (``goal``) or the closing phrase (None, and
    ``reason`` says why the conversation is closing)."""

    goal: int | None
    trigger: str
    reason: str = ""


@dataclass(frozen=True)
class _Job:
    """What a job is asked: transcribe ``audio`` (the model's turn; None: nothing to hear); unless
    the examiner is cutting in, check that it was a reply (words) and, when ``check``, that it
    reads as finished; then write and synthesise the next line."""

    next: _Next
    audio: Samples | None
    heard_until: int  # the model audio the job hears ends here
    check: bool
    interrupt: bool  # the examiner cuts in on a model that is still talking
    history: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Outcome:
    heard: str
    line: Line | None  # None: no turn to take (the model was not done, or it was noise)
    audio: Samples | None
    why: str = ""


@dataclass
class _Speaking:
    audio: Samples
    start: int
    index: int  # its ExaminerTurn's index in self.turns


class Examiner(UserSide):
    def __init__(
        self,
        item: ScenarioItem,
        frame_size: int,
        writer: Writer,
        *,
        hear: Hear,
        speak: Speak,
        prepared: dict[int, Line] | None = None,
    ) -> None:
        plan = item.annotations.conversation
        if plan is None:
            raise ConfigError(f"item {item.item_id!r} has no conversation for the examiner")
        self.item, self.plan = item, plan
        self.policy = POLICIES.get(plan.policy)
        self.rate, self.frame = item.sample_rate, frame_size
        self.n_frames = math.ceil(plan.max_seconds * self.rate / frame_size)
        self.user = np.zeros(self.n_frames * frame_size, np.float32)
        self.length = self.user.size
        self.writer, self.hear, self.speak = writer, hear, speak
        #: goal -> its line, written before the session by a writer that needs no context
        self.prepared = dict(prepared or {})
        self.track = ModelTrack(self.rate)
        self.lead_in = round(float(item.provenance.get("lead_in", 0.5)) * self.rate)
        self.work: concurrent.futures.Executor = InlineExecutor()
        # what happened
        self.turns: list[ExaminerTurn] = []
        self.fired: list[UserCueFired] = []
        self.history: list[tuple[str, str]] = []
        self.ended_reason: str | None = None
        self.end_frame: int | None = None
        # where the conversation is
        self.next_goal = 0
        self.goal_turns = 0  # turns spent on goals (repeats included)
        self.repeat: int | None = None  # a goal whose line was talked over
        self.closing: str | None = None  # why the closing phrase is being said
        self.speaking: _Speaking | None = None
        self.listen_from = 0  # end of the examiner's last line: a reply is voiced after it
        self.ignore_until = 0  # model sound before this was heard as noise, not a reply
        self.checked = (-1, False)  # (last voiced sample, forced) of the last end-of-turn check
        self.job: concurrent.futures.Future[_Outcome] | None = None
        self.job_args: _Job | None = None

    # ------------------------------------------------------------------ UserSide
    def attach(self, work: concurrent.futures.Executor) -> None:
        self.work = work

    def ended(self, n: int) -> bool:
        return self.end_frame is not None and n >= self.end_frame

    def events(self) -> list[UserCueFired]:
        return self.fired

    def frame_at(self, n: int, model: Samples) -> Samples:
        heard_until = max(0, (n - 1) * self.frame)
        self.track.feed(model, heard_until)
        if self.end_frame is None:
            self._collect(n)
            if self.job is None:
                self._decide(n, heard_until, model)
                self._collect(n)  # inline (lock-step): the line starts in the deciding frame
        return self._emit(n)

    def resolved_annotations(self) -> Annotations:
        reason, at = self.ended_reason, None
        if self.end_frame is not None:
            at = min(self.end_frame * self.frame, self.user.size) / self.rate
        else:
            reason, at = "max_seconds", self.user.size / self.rate
        conv = replace(self.plan, turns=tuple(self.turns), ended=reason, ended_at=at)
        return replace(self.item.annotations, conversation=conv)

    def close(self) -> None:
        sp = self.speaking
        if sp is not None:  # the session ended mid-line (at max_seconds)
            end = sp.start + sp.audio.size
            self._stop(min(end, self.user.size), cut=end > self.user.size, final=True)

    # ------------------------------------------------------------------ deciding
    def _decide(self, n: int, heard_until: int, model: Samples) -> None:
        now = n * self.frame
        if not self.turns:
            if now >= self.lead_in:
                self._submit(self._next("opening"), None, heard_until, check=False)
            return
        if self.speaking is not None:
            self._maybe_yield(n)
            return
        if self.closing is not None:
            return  # the closing phrase has been said; the session is running its tail
        reply = self.track.run_after(max(self.listen_from, self.ignore_until))
        p = self.policy
        if reply is None:
            if heard_until - self.listen_from >= self._s(p.give_up_s):
                self._end("model_silent", n + 1)
            return
        start = max(self.track.turn_start(reply, self._s(p.silence_s)), self.ignore_until)
        if self.track.in_speech:
            barge = p.barge_after_s
            if barge is not None and heard_until - start >= self._s(barge):
                nxt = self._next("interrupt")
                self._submit(nxt, (start, model), heard_until, check=False, interrupt=True)
            return
        silence = heard_until - self.track.last_voiced
        if silence < self._s(p.silence_s):
            return
        forced = silence >= self._s(p.max_silence_s)
        if self.checked == (self.track.last_voiced, forced) or (
            not forced and self.checked[0] == self.track.last_voiced
        ):
            return
        self.checked = (self.track.last_voiced, forced)
        self._submit(self._next("turn_end"), (start, model), heard_until, check=not forced)

    def _next(self, trigger: str) -> _Next:
        """The next goal (a talked-over one first), or the closing phrase and why."""
        turns_left = self.goal_turns < self.plan.max_turns
        if self.repeat is not None:
            return (
                _Next(self.repeat, "repeat") if turns_left else _Next(None, "closing", "max_turns")
            )
        if self.next_goal >= len(self.plan.goals):
            return _Next(None, "closing", "goal_met")
        if not turns_left:
            return _Next(None, "closing", "max_turns")
        return _Next(self.next_goal, trigger)

    def _submit(
        self,
        nxt: _Next,
        hear_from: tuple[int, Samples] | None,
        heard_until: int,
        *,
        check: bool,
        interrupt: bool = False,
    ) -> None:
        audio = None
        if hear_from is not None:
            start, model = hear_from
            lo = max(0, start - self._s(HEAR_PAD_S))
            audio = np.array(model[lo:heard_until], np.float32)  # a copy: the job may be late
        job = _Job(nxt, audio, heard_until, check, interrupt, tuple(self.history))
        self.job_args = job
        self.job = self.work.submit(self._think, job)

    def _think(self, job: _Job) -> _Outcome:
        """The job (maybe on a worker thread): reads only its arguments and thread-safe parts."""
        heard = self.hear(job.audio, self.rate) if job.audio is not None else ""
        if job.audio is not None and not job.interrupt:
            if not turn.words(heard):
                return _Outcome(heard, None, None, "no words: noise, not a reply")
            judgement = turn.judge(heard)
            if job.check and not judgement.complete:
                return _Outcome(heard, None, None, f"not finished ({judgement.reason})")
        history = (*job.history, ("assistant", heard)) if heard else job.history
        goal_index = job.next.goal
        if goal_index is None:
            line = Line(CLOSING, "script")
        elif goal_index in self.prepared:
            line = self.prepared[goal_index]
        else:
            goal = self.plan.goals[goal_index]
            request = LineRequest(self.plan.kind, goal, job.next.trigger, history)
            line = self.writer.write(request)
        return _Outcome(heard, line, self.speak(line.text))

    def _collect(self, n: int) -> None:
        """Act on a finished job at frame ``n``."""
        if self.job is None or not self.job.done():
            return
        job, args = self.job, self.job_args
        self.job = self.job_args = None
        assert args is not None
        try:
            out = job.result()
        except Exception as exc:  # ASR, LM or TTS failed: the item fails with the reason
            raise BackendError(f"examiner: {type(exc).__name__}: {exc}") from exc
        if out.line is None or out.audio is None:
            if turn.words(out.heard) == [] and args.audio is not None:
                self.ignore_until = args.heard_until
            return
        resumed = self.track.last_voiced > args.heard_until
        if not args.interrupt and resumed:
            return  # the model went on while the job ran (real time): it was a pause
        if out.heard:
            self.history.append(("assistant", out.heard))
        self._start(n, args, out)

    # ------------------------------------------------------------------ speaking
    def _start(self, n: int, args: _Job, out: _Outcome) -> None:
        assert out.line is not None and out.audio is not None
        start = n * self.frame
        goal = args.next.goal
        if goal is None:
            self.closing = args.next.reason
        else:
            self.goal_turns += 1
            self.repeat = None
            self.next_goal = max(self.next_goal, goal + 1)
        self.history.append(("you", out.line.text))
        turn_ = ExaminerTurn(
            goal=goal,
            text=out.line.text,
            start=start / self.rate,
            end=(start + out.audio.size) / self.rate,
            trigger=args.next.trigger,
            source=out.line.source,
            heard=out.heard,
            note=out.line.note,
        )
        self.turns.append(turn_)
        self.speaking = _Speaking(out.audio, start, len(self.turns) - 1)
        self.fired.append(UserCueFired(start, "examiner", asdict(turn_)))

    def _emit(self, n: int) -> Samples:
        lo, hi = n * self.frame, (n + 1) * self.frame
        sp = self.speaking
        if sp is not None:
            a, b = max(lo, sp.start), min(hi, sp.start + sp.audio.size)
            if b > a:
                self.user[a:b] = sp.audio[a - sp.start : b - sp.start]
            if sp.start + sp.audio.size <= hi:
                self._stop(sp.start + sp.audio.size, cut=False)
        return self.user[lo:hi]

    def _maybe_yield(self, n: int) -> None:
        """A slow examiner stops its line when the model talks over it long enough."""
        sp, limit = self.speaking, self.policy.yield_after_s
        if sp is None or limit is None:
            return
        if self.track.voiced_since(sp.start) < self._s(limit):
            return
        cut = n * self.frame
        fade = min(self._s(FADE_S), sp.start + sp.audio.size - cut)
        if fade > 0:
            ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
            self.user[cut : cut + fade] = sp.audio[cut - sp.start : cut - sp.start + fade] * ramp
        said = (cut + fade - sp.start) / sp.audio.size
        goal = self.turns[sp.index].goal
        if goal is not None and said < REPEAT_BELOW:
            self.repeat = goal
        self._stop(cut + max(fade, 0), cut=True)

    def _stop(self, end: int, *, cut: bool, final: bool = False) -> None:
        sp = self.speaking
        assert sp is not None
        self.speaking = None
        index = sp.index
        self.turns[index] = replace(self.turns[index], end=end / self.rate, cut=cut)
        self.listen_from = end
        self.checked = (-1, False)
        if self.closing is not None and not final:
            frames = math.ceil((end + self._s(self.policy.tail_s)) / self.frame)
            self._end(self.closing, min(frames, self.n_frames))

    def _end(self, reason: str, frame: int) -> None:
        self.ended_reason, self.end_frame = reason, frame

    def _s(self, seconds: float) -> int:
        return round(seconds * self.rate)
