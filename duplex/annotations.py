"""What the metrics (and instrument models) know about an item: typed annotation parts.

Times are in seconds from the item's first sample (JSON-friendly and the unit of
Full-Duplex-Bench's files); the metrics convert to samples with the recording's rate.

An item's annotations are static (its script: speech spans, pauses, the interruption it plans);
a session's annotations are the item's plus what happened - the reactive cues as actually placed
(:class:`Cue`). Each part is a typed field; there is no free-form dictionary, so a new kind of
annotation is a new field here, named for what it is, and every reader finds it by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

from duplex.timeline import Span, SpeechSpan

#: Why a reactive cue started when it did: after the model's speech onset, at the fallback time
#: (the model had not spoken), or at a fixed time given by imported data.
Trigger = Literal["model_onset", "fallback", "fixed"]
#: Which run of an overlap pair an item is: the reference without the overlap, or with it.
Variant = Literal["clean", "overlapped"]
#: Suffix of the clean run's item id in an overlap pair (``NAME.clean`` beside ``NAME``).
CLEAN_SUFFIX = ".clean"


def pair_id(item_id: str) -> tuple[str, bool]:
    """``(the pair's id, whether this is its clean run)`` for an item id of an overlap pair."""
    if item_id.endswith(CLEAN_SUFFIX):
        return item_id[: -len(CLEAN_SUFFIX)], True
    return item_id, False


@dataclass(frozen=True)
class Interrupt:
    """The interruption an item's script plans: what the user will say, and in reply to what.

    The timing fields describe the reactive rule (seconds after the model's onset, armed at the end
    of the user's turn, a fallback time) and are None for imported data, whose interruption is
    placed at a fixed time instead.
    """

    text: str
    context: str
    after_model_onset: float | None = None
    armed_at: float | None = None
    fallback_at: float | None = None
    duration: float | None = None


@dataclass(frozen=True)
class Overlap:
    """Speech an item plays over the model's answer (Full-Duplex-Bench v1.5), as planned.

    ``talker`` is ``user`` (a backchannel, an interruption), ``other`` (the user turning to
    someone else) or ``background`` (a TV, a conversation elsewhere); ``effect`` the room
    rendering and ``level_db`` its gain; ``expect`` what a good model does, ``resume`` (keep
    the floor) or ``respond`` (stop and answer), None when imported data does not say.
    ``variant`` tells the two runs of a pair apart: in the ``clean`` run the same cue is placed
    silent, so both runs resolve the same reactive start. ``speech_duration`` is the overlap's
    speech (its cue ``duration`` adds the room's echo tail). The timing fields are None for
    imported data, placed at fixed times.
    """

    text: str
    context: str
    talker: str = "user"
    voice: str | None = None
    effect: str = "none"
    level_db: float = 0.0
    expect: str | None = None
    variant: Variant = "overlapped"
    after_model_onset: float | None = None
    armed_at: float | None = None
    fallback_at: float | None = None
    speech_duration: float | None = None
    duration: float | None = None

    @property
    def clean(self) -> bool:
        return self.variant == "clean"


@dataclass(frozen=True)
class Cue:
    """A user utterance placed during a session in reaction to the model (or at a fixed time):
    where it actually went. ``truncated``: the session ended before the utterance did."""

    name: str
    text: str
    start: float
    end: float
    trigger: Trigger = "fixed"
    model_onset: float | None = None
    after_model_onset: float | None = None
    truncated: bool = False


@dataclass(frozen=True)
class BackchannelPoint:
    """A place where a listener would backchannel (``t`` in seconds) and its relative weight."""

    t: float
    weight: float = 1.0


@dataclass(frozen=True)
class Goal:
    """One stage of a conversation's staged goal: what the examiner is to achieve in its turn,
    the line that achieves it, and what the judge checks in the model's reply.

    ``reply`` is a reply a good model could give, ``bad_reply`` one that fails this stage (it
    ignores the correction, forgets the entity, complies with the harmful request): the
    instrument models say them. ``expect``: words (alternatives) a reply that follows the stage
    contains; ``avoid``: words it must not contain (the fact the user took back); ``refuse``: the
    request is harmful and the reply should decline it.
    """

    goal: str
    say: str
    reply: str = ""
    bad_reply: str = ""
    expect: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    refuse: bool = False


@dataclass(frozen=True)
class References:
    """What the judge needs to score a conversation as a whole (its task score).

    ``task``: what the conversation should achieve, in a sentence; ``old_fact``/``new_fact``:
    words of the fact the user corrects and of its correction; ``entities``: the named things the
    model should refer back to; ``refuse``: the conversation holds a request to decline.
    """

    task: str = ""
    old_fact: tuple[str, ...] = ()
    new_fact: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    refuse: bool = False


@dataclass(frozen=True)
class ExaminerTurn:
    """One turn the examiner took, as it happened (seconds on the session clock).

    ``goal``: index of the goal it pursued (None for the closing phrase). ``trigger``: why it
    spoke then: ``opening``, ``turn_end`` (the model's turn was over), ``interrupt`` (it cut a
    long model turn short), ``repeat`` (its previous turn was talked over), ``closing``.
    ``source``: who wrote the line (``script`` or the language model). ``cut``: it stopped
    before the end of its line. ``heard``: what it understood the model to have said before
    this turn (its own ASR).
    """

    goal: int | None
    text: str
    start: float
    end: float
    trigger: str
    source: str = "script"
    cut: bool = False
    heard: str = ""
    note: str = ""


@dataclass(frozen=True)
class Conversation:
    """A conversation item: its staged goals and pacing, and (in a session's annotations) the
    examiner's turns and why it ended.

    ``kind``: the family of task (daily, correction, entity_tracking, safety); ``policy``: the
    examiner's pacing (``fast``: answers after a short silence and cannot be interrupted;
    ``slow``: waits longer and yields when talked over); the examiner ends after ``max_turns``
    turns, ``max_seconds``, or when every goal has been pursued. ``ended``: why it ended
    (``goal_met``, ``max_turns``, ``max_seconds``, ``model_silent``), at ``ended_at`` s.
    """

    kind: str
    policy: str
    max_turns: int
    max_seconds: float
    goals: tuple[Goal, ...]
    references: References = References()
    turns: tuple[ExaminerTurn, ...] = ()
    ended: str | None = None
    ended_at: float | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Conversation:
        refs = d.get("references") or {}
        return cls(
            kind=str(d["kind"]),
            policy=str(d["policy"]),
            max_turns=int(d["max_turns"]),
            max_seconds=float(d["max_seconds"]),
            goals=tuple(_goal(g) for g in d.get("goals", [])),
            references=References(
                task=str(refs.get("task", "")),
                old_fact=tuple(refs.get("old_fact", ())),
                new_fact=tuple(refs.get("new_fact", ())),
                entities=tuple(refs.get("entities", ())),
                refuse=bool(refs.get("refuse", False)),
            ),
            turns=tuple(ExaminerTurn(**_known(ExaminerTurn, t)) for t in d.get("turns", [])),
            ended=d.get("ended"),
            ended_at=d.get("ended_at"),
        )


def _goal(d: dict[str, Any]) -> Goal:
    d = _known(Goal, d)
    return Goal(**{**d, "expect": tuple(d.get("expect", ())), "avoid": tuple(d.get("avoid", ()))})


@dataclass(frozen=True)
class Annotations:
    """What the metrics need to know about an item (or, resolved, about a session).

    ``speech`` are the user's voiced stretches with their text; ``turn_start``/``turn_end`` bound
    the user's turn; ``pauses`` are the silent gaps inside it. ``interrupt`` is the interruption
    the script plans, ``overlap`` the overlapping speech it plans; ``cues`` the reactive cues as
    placed (empty until a session resolves them).
    ``backchannel_points`` are where a listener would backchannel (built by the backchannel task,
    or read from imported data); ``backchannel_distribution`` is an externally given 200 ms-bin
    reference distribution (Full-Duplex-Bench's ICC ground truth), used instead of the points for
    the anchor's figure. ``user_turns`` are the turns of a live session, found by VAD on the
    microphone; ``source`` says where annotations that are not a rendered script came from
    ("live", "fdb"). ``conversation``: the staged goals of a conversation item, and in a session
    the examiner's turns as they happened.
    """

    speech: tuple[SpeechSpan, ...]
    pauses: tuple[Span, ...] = ()
    interrupt: Interrupt | None = None
    overlap: Overlap | None = None
    cues: tuple[Cue, ...] = ()
    backchannel_points: tuple[BackchannelPoint, ...] = ()
    backchannel_distribution: tuple[float, ...] | None = None
    user_turns: tuple[Span, ...] = ()
    source: str | None = None
    conversation: Conversation | None = None

    @property
    def turn_start(self) -> float:
        return self.speech[0].start if self.speech else 0.0

    @property
    def turn_end(self) -> float:
        return self.speech[-1].end if self.speech else 0.0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.speech)

    def cue(self, name: str) -> Cue | None:
        """The first placed cue called ``name``, or None."""
        return next((c for c in self.cues if c.name == name), None)

    def with_cues(self, cues: Sequence[Cue]) -> Annotations:
        return replace(self, cues=tuple(cues))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["turn_start"] = self.turn_start
        d["turn_end"] = self.turn_end
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Annotations:
        """The inverse of :meth:`to_json`; also reads the format before typed parts (an
        ``extra`` dictionary), so session folders written by older versions still load."""
        d = {**d, **_from_extra(d.get("extra") or {})}
        interrupt = d.get("interrupt")
        overlap = d.get("overlap")
        distribution = d.get("backchannel_distribution")
        conversation = d.get("conversation")
        return cls(
            speech=tuple(SpeechSpan(**s) for s in d.get("speech", [])),
            pauses=tuple(Span(**p) for p in d.get("pauses", [])),
            interrupt=None if interrupt is None else Interrupt(**_known(Interrupt, interrupt)),
            overlap=None if overlap is None else _overlap(overlap),
            cues=tuple(Cue(**_known(Cue, c)) for c in d.get("cues", [])),
            backchannel_points=tuple(
                BackchannelPoint(**_known(BackchannelPoint, p))
                for p in d.get("backchannel_points", [])
            ),
            backchannel_distribution=None if distribution is None else tuple(distribution),
            user_turns=tuple(_span(t) for t in d.get("user_turns", [])),
            source=d.get("source"),
            conversation=None if conversation is None else Conversation.from_json(conversation),
        )


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def _span(t: Any) -> Span:
    return Span(**t) if isinstance(t, dict) else Span(float(t[0]), float(t[1]))


def _overlap(d: dict[str, Any]) -> Overlap:
    """An :class:`Overlap` from its JSON form; the first version's form (``variant``
    ``overlap`` for the overlapped run) reads as the same thing."""
    known = _known(Overlap, d)
    if known.get("variant") not in get_args(Variant):
        known["variant"] = "clean" if d.get("variant") == "clean" else "overlapped"
    return Overlap(**{"context": "", **known})


def _from_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """Typed-part fields from the old ``extra`` keys (format 1 session folders and caches)."""
    out: dict[str, Any] = {}
    if "interrupt" in extra:
        out["interrupt"] = {"context": "", **extra["interrupt"]}
    if "overlap" in extra:
        out["overlap"] = extra["overlap"]
    if "cues" in extra:
        out["cues"] = extra["cues"]
    if "backchannel_reference" in extra:
        out["backchannel_points"] = extra["backchannel_reference"]
    if "backchannel_distribution" in extra:
        out["backchannel_distribution"] = extra["backchannel_distribution"]
    if "user_turns" in extra:
        out["user_turns"] = extra["user_turns"]
    if "source" in extra:
        out["source"] = extra["source"]
    return out
