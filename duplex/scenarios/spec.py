"""Scenario suite specs: YAML files parsed into typed, validated objects.

A suite file looks like::

    suite: pause_handling
    version: "1.0"          # a string, so "1.10" never becomes 1.1
    task: pause_handling    # metric task; defaults to the suite name
    description: ...
    defaults: {voice: joe, rate: 1.0, lead_in: 0.5, tail: 4.0, seed: 0}
    items:
      - id: ph-001
        voice: joe-low      # optional, overrides defaults
        rate: 1.15          # TTS length_scale; > 1 is slower
        script:
          - say: "So what I was thinking is that we could,"
          - pause: 1.2
          - say: "maybe move the meeting to Thursday?"

Steps alternate ``say`` and ``pause`` and start and end with ``say``: outer silence is the
``lead_in``/``tail`` setting, so every pause is a gap between two stretches of speech. Every error
names the file, the item and the field, e.g. ``x.yaml: item 'ph-007': script[3].pause: ...``.

Reactive interruptions (task ``user_interruption``, where every item must have one)::

    defaults: {tail: 10.5, interrupt: {after_model_onset: 1.5, fallback_after: 4.0}}
    items:
      - id: ui-001
        script:
          - say: "Can you tell me about the history of the Roman empire?"
        interrupt:
          say: "Wait, actually, can you just tell me when it fell?"
          after_model_onset: 2.0   # optional, overrides defaults.interrupt

Optional rubric criteria per item, for ``duplex-bench rubric`` (they never change the audio, so
they are not part of the item's cache key)::

    rubric:
      semantic: "Gives a closing time, or says how the user can find it."
      paralinguistic: "Answers within about a second, at a calm rate."
      keywords: [close, hours, open]   # optional: words the embedded judge looks for

Dimensions are MTalk-Bench's: ``semantic`` (content), ``paralinguistic`` (rate, pauses, timing)
and ``ambient`` (conditions such as background noise).

The ``script`` is the context turn. The interrupting utterance starts ``after_model_onset`` s after
the model is first heard speaking once the context turn has ended, or ``fallback_after`` s after
that turn end if the model has not spoken by then; ``tail`` is the silence after the latest
possible end of the interruption (see :mod:`duplex.scenarios.render`).

Overlaps (task ``overlap``, Full-Duplex-Bench v1.5; every item must have one): speech that
overlaps the model's answer - a user backchannel, the user talking to someone else, background
speech, or a real interruption - placed reactively like an interruption::

    defaults:
      overlap: {talker: user, effect: none, expect: resume, after_model_onset: 2.0}
    items:
      - id: ub-001
        script:
          - say: "How do I get started with growing tomatoes?"
        overlap:
          say: "Mm-hmm."
          after_model_onset: 2.5   # any field but say may also come from defaults.overlap

Fields: ``talker`` (``user``: the user's voice, by default the item's; ``other``: another person
in the room; ``background``: a TV, radio or a conversation elsewhere - both with ``voice`` from
:data:`duplex.speech.voices.TALKERS`), ``effect`` (a room effect of
:data:`duplex.scenarios.effects.EFFECTS`; default ``none`` for the user, ``other_room`` for
``other``, ``background`` for ``background``), ``level_db`` (default: the effect's level),
``expect`` (``resume``: keep the floor; ``respond``: stop and answer), and the timing fields of
``interrupt``. Every overlap item expands into two items run one after the other: ``<id>.clean``
(the same timing, the overlap silent: the reference run) and ``<id>`` (with the overlap); ids
ending in ``.clean`` are reserved for that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from duplex.annotations import CLEAN_SUFFIX, Conversation
from duplex.errors import ScenarioError
from duplex.scenarios.conversation import Pacing, parse_conversation, parse_pacing
from duplex.scenarios.fields import Where as _Where
from duplex.scenarios.fields import check_keys as _check_keys
from duplex.scenarios.fields import describe as _describe
from duplex.scenarios.fields import integer as _integer
from duplex.scenarios.fields import mapping as _mapping
from duplex.scenarios.fields import number as _number
from duplex.scenarios.fields import string as _string

#: Accepted ranges (seconds, or TTS length_scale for rate). Wide on purpose: suites set tighter
#: design constraints of their own (checked in their tests), the parser only rejects nonsense.
PAUSE_RANGE = (0.05, 10.0)
RATE_RANGE = (0.5, 2.0)
LEAD_IN_RANGE = (0.0, 30.0)
TAIL_RANGE = (0.0, 60.0)
AFTER_MODEL_ONSET_RANGE = (0.0, 10.0)
FALLBACK_AFTER_RANGE = (0.0, 30.0)

LEVEL_DB_RANGE = (-40.0, 6.0)
TALKER_ROLES = ("user", "other", "background")
EXPECTED = ("resume", "respond")

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # ids end up in file names
_VERSION_PATTERN = re.compile(r"^\d+(\.\d+)*$")
_TOP_KEYS = {"suite", "version", "task", "description", "defaults", "items"}
_DEFAULT_KEYS = {"voice", "rate", "lead_in", "tail", "seed", "interrupt", "overlap", "conversation"}
_ITEM_KEYS = {
    "id",
    "voice",
    "rate",
    "seed",
    "note",
    "script",
    "interrupt",
    "overlap",
    "rubric",
    "conversation",
}
#: Rubric dimensions (MTalk-Bench's semantic / paralinguistic / ambient).
RUBRIC_DIMENSIONS = ("semantic", "paralinguistic", "ambient")
_RUBRIC_KEYS = {*RUBRIC_DIMENSIONS, "keywords"}
_INTERRUPT_TIMING_KEYS = {"after_model_onset", "fallback_after"}
_INTERRUPT_KEYS = {"say"} | _INTERRUPT_TIMING_KEYS
_OVERLAP_DEFAULT_KEYS = {"talker", "voice", "effect", "level_db", "expect"} | _INTERRUPT_TIMING_KEYS
_OVERLAP_KEYS = {"say"} | _OVERLAP_DEFAULT_KEYS
_DEFAULT_EFFECT = {"user": "none", "other": "other_room", "background": "background"}


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Pause:
    seconds: float


Step = Say | Pause


@dataclass(frozen=True)
class InterruptTiming:
    """When an interruption starts: ``after_model_onset`` s after the model starts speaking, or
    ``fallback_after`` s after the end of the context turn if the model stays silent."""

    after_model_onset: float = 1.5
    fallback_after: float = 4.0


@dataclass(frozen=True)
class InterruptSpec:
    """A reactive interrupting utterance, with the suite's timing defaults applied."""

    text: str
    after_model_onset: float
    fallback_after: float

    def to_json(self) -> dict[str, Any]:
        return {
            "say": self.text,
            "after_model_onset": self.after_model_onset,
            "fallback_after": self.fallback_after,
        }


@dataclass(frozen=True)
class Rubric:
    """Item-specific rubric criteria: dimension -> criterion text, and optional keywords."""

    criteria: tuple[tuple[str, str], ...] = ()
    keywords: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            **dict(self.criteria),
            **({"keywords": list(self.keywords)} if self.keywords else {}),
        }


@dataclass(frozen=True)
class OverlapDefaults:
    """``defaults.overlap``: fields an item's ``overlap`` may leave out (None: not set)."""

    talker: str = "user"
    voice: str | None = None
    effect: str | None = None
    level_db: float | None = None
    expect: str | None = None
    timing: InterruptTiming = InterruptTiming()


@dataclass(frozen=True)
class OverlapSpec:
    """Speech overlapping the model's answer, resolved: who says it, how it sounds, when.

    ``clean`` marks the reference variant: the same cue and timing with the overlap silent.
    """

    text: str
    talker: str  # user | other | background
    voice: str  # a user voice (tts.VOICES) for talker user, else a talker (voices.TALKERS)
    effect: str
    level_db: float
    expect: str  # resume | respond
    after_model_onset: float
    fallback_after: float
    clean: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "say": self.text,
            "talker": self.talker,
            "voice": self.voice,
            "effect": self.effect,
            "level_db": self.level_db,
            "expect": self.expect,
            "after_model_onset": self.after_model_onset,
            "fallback_after": self.fallback_after,
            "variant": "clean" if self.clean else "overlapped",
        }


@dataclass(frozen=True)
class Defaults:
    voice: str = "joe"
    rate: float = 1.0
    lead_in: float = 0.5
    tail: float = 4.0
    seed: int = 0
    interrupt: InterruptTiming = InterruptTiming()
    overlap: OverlapDefaults = OverlapDefaults()
    conversation: Pacing = field(default_factory=Pacing)


@dataclass(frozen=True)
class ItemSpec:
    """One item with the suite defaults already applied to ``voice``, ``rate`` and ``seed``."""

    id: str
    voice: str
    rate: float
    seed: int
    script: tuple[Step, ...]
    note: str = ""
    interrupt: InterruptSpec | None = None
    overlap: OverlapSpec | None = None
    #: not part of :meth:`to_json`: a rubric does not change what is rendered or recorded
    rubric: Rubric = Rubric()
    conversation: Conversation | None = None

    @property
    def pauses(self) -> tuple[float, ...]:
        return tuple(s.seconds for s in self.script if isinstance(s, Pause))

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(s.text for s in self.script if isinstance(s, Say))

    def to_json(self) -> dict[str, Any]:
        """Canonical form (hashed into the cache key): resolved values, no free-text note."""
        d: dict[str, Any] = {
            "id": self.id,
            "voice": self.voice,
            "rate": self.rate,
            "seed": self.seed,
            "script": [
                {"say": s.text} if isinstance(s, Say) else {"pause": s.seconds} for s in self.script
            ],
        }
        if self.interrupt is not None:  # absent key: items without one keep their old form
            d["interrupt"] = self.interrupt.to_json()
        if self.overlap is not None:
            d["overlap"] = self.overlap.to_json()
        if self.conversation is not None:
            d["conversation"] = asdict(self.conversation)
        return d


@dataclass(frozen=True)
class SuiteSpec:
    path: Path
    suite: str
    version: str
    task: str
    description: str
    defaults: Defaults
    items: tuple[ItemSpec, ...]


def require_fields(spec: SuiteSpec, fields: Iterable[str], task: str) -> None:
    """Every item carries each of ``fields`` (e.g. the ``interrupt`` cue a task's items need).

    The task that needs them says so (:attr:`duplex.metrics.tasks.Task.cues`); the parser itself
    knows no task.
    """
    for name in sorted(fields):
        for item in spec.items:
            if getattr(item, name, None) is None:
                raise _Where(spec.path, f"item {item.id!r}").error(
                    name, f"missing (every item of task {task!r} needs one)"
                )


def _voice(value: object, where: _Where, field: str) -> str:
    from duplex.speech.tts import VOICES  # light import: the registry, not the model

    name = _string(value, where, field)
    if name not in VOICES:
        raise where.error(field, VOICES.miss_message(name))
    return name


def _timing(
    d: Mapping[str, Any], base: InterruptTiming, where: _Where, prefix: str
) -> InterruptTiming:
    return InterruptTiming(
        after_model_onset=_number(
            d.get("after_model_onset", base.after_model_onset),
            where,
            f"{prefix}.after_model_onset",
            AFTER_MODEL_ONSET_RANGE,
        ),
        fallback_after=_number(
            d.get("fallback_after", base.fallback_after),
            where,
            f"{prefix}.fallback_after",
            FALLBACK_AFTER_RANGE,
        ),
    )


def _choice(value: object, where: _Where, field: str, choices: tuple[str, ...]) -> str:
    name = _string(value, where, field)
    if name not in choices:
        raise where.error(field, f"{name!r} is not one of {', '.join(choices)}")
    return name


def _talker_voice(value: object, where: _Where, field: str) -> str:
    from duplex.speech.voices import TALKERS  # light import: the registry, not praat

    name = _string(value, where, field)
    if name not in TALKERS:
        raise where.error(field, TALKERS.miss_message(name))
    return name


def _effect(value: object, where: _Where, field: str) -> str:
    from duplex.scenarios.effects import EFFECTS

    name = _string(value, where, field)
    if name not in EFFECTS:
        raise where.error(field, EFFECTS.miss_message(name))
    return name


def _overlap_defaults(raw: object, where: _Where) -> OverlapDefaults:
    d = _mapping(raw, where, "defaults.overlap")
    _check_keys(d, _OVERLAP_DEFAULT_KEYS, where, "defaults.overlap")
    f = "defaults.overlap"
    talker = _choice(d.get("talker", "user"), where, f"{f}.talker", TALKER_ROLES)
    voice = None
    if "voice" in d:
        check = _voice if talker == "user" else _talker_voice
        voice = check(d["voice"], where, f"{f}.voice")
    return OverlapDefaults(
        talker=talker,
        voice=voice,
        effect=_effect(d["effect"], where, f"{f}.effect") if "effect" in d else None,
        level_db=_number(d["level_db"], where, f"{f}.level_db", LEVEL_DB_RANGE)
        if "level_db" in d
        else None,
        expect=_choice(d["expect"], where, f"{f}.expect", EXPECTED) if "expect" in d else None,
        timing=_timing(d, InterruptTiming(), where, f),
    )


def _overlap(raw: object, base: OverlapDefaults, item_voice: str, where: _Where) -> OverlapSpec:
    from duplex.scenarios.effects import EFFECTS

    d = _mapping(raw, where, "overlap")
    _check_keys(d, _OVERLAP_KEYS, where, "overlap")
    if "say" not in d:
        raise where.error("overlap.say", "missing")
    talker = _choice(d.get("talker", base.talker), where, "overlap.talker", TALKER_ROLES)
    # Default voice, effect and level apply only to the talker role they were written for.
    same = talker == base.talker
    raw_voice = d.get("voice", base.voice if same else None)
    if talker == "user":
        voice = item_voice if raw_voice is None else _voice(raw_voice, where, "overlap.voice")
    elif raw_voice is None:
        raise where.error("overlap.voice", f"missing (talker {talker!r} needs a talker voice)")
    else:
        voice = _talker_voice(raw_voice, where, "overlap.voice")
    effect = (
        _effect(d["effect"], where, "overlap.effect")
        if "effect" in d
        else (base.effect if same else None) or _DEFAULT_EFFECT[talker]
    )
    level = d.get("level_db", base.level_db if same else None)
    if "expect" not in d and base.expect is None:
        raise where.error("overlap.expect", f"missing (one of {', '.join(EXPECTED)})")
    timing = _timing(d, base.timing, where, "overlap")
    return OverlapSpec(
        text=_string(d["say"], where, "overlap.say"),
        talker=talker,
        voice=voice,
        effect=effect,
        level_db=EFFECTS.get(effect).level_db
        if level is None
        else _number(level, where, "overlap.level_db", LEVEL_DB_RANGE),
        expect=_choice(d.get("expect", base.expect), where, "overlap.expect", EXPECTED),
        after_model_onset=timing.after_model_onset,
        fallback_after=timing.fallback_after,
    )


def variants(item: ItemSpec) -> tuple[ItemSpec, ...]:
    """The items an item runs as: itself, or for an overlap item its clean variant then itself.

    The clean variant (id ``<id>.clean``) has the same context, cue and timing with the overlap
    silent, so the pair differs in the overlap alone.
    """
    if item.overlap is None:
        return (item,)
    clean = replace(item, id=item.id + CLEAN_SUFFIX, overlap=replace(item.overlap, clean=True))
    return (clean, item)


def _defaults(raw: object, where: _Where) -> Defaults:
    if raw is None:
        return Defaults()
    d = _mapping(raw, where, "defaults")
    _check_keys(d, _DEFAULT_KEYS, where, "defaults")
    base = Defaults()
    timing = base.interrupt
    if "interrupt" in d:
        raw_timing = _mapping(d["interrupt"], where, "defaults.interrupt")
        _check_keys(raw_timing, _INTERRUPT_TIMING_KEYS, where, "defaults.interrupt")
        timing = _timing(raw_timing, timing, where, "defaults.interrupt")
    overlap = _overlap_defaults(d["overlap"], where) if "overlap" in d else base.overlap
    pacing = base.conversation
    if "conversation" in d:
        pacing = parse_pacing(d["conversation"], pacing, where, "defaults.conversation")
    return Defaults(
        conversation=pacing,
        voice=_voice(d["voice"], where, "defaults.voice") if "voice" in d else base.voice,
        rate=_number(d.get("rate", base.rate), where, "defaults.rate", RATE_RANGE),
        lead_in=_number(d.get("lead_in", base.lead_in), where, "defaults.lead_in", LEAD_IN_RANGE),
        tail=_number(d.get("tail", base.tail), where, "defaults.tail", TAIL_RANGE),
        seed=_integer(d.get("seed", base.seed), where, "defaults.seed"),
        interrupt=timing,
        overlap=overlap,
    )


def _interrupt(raw: object, defaults: InterruptTiming, where: _Where) -> InterruptSpec:
    d = _mapping(raw, where, "interrupt")
    _check_keys(d, _INTERRUPT_KEYS, where, "interrupt")
    if "say" not in d:
        raise where.error("interrupt.say", "missing")
    timing = _timing(d, defaults, where, "interrupt")
    return InterruptSpec(
        text=_string(d["say"], where, "interrupt.say"),
        after_model_onset=timing.after_model_onset,
        fallback_after=timing.fallback_after,
    )


def _rubric(raw: object, where: _Where) -> Rubric:
    d = _mapping(raw, where, "rubric")
    _check_keys(d, _RUBRIC_KEYS, where, "rubric")
    criteria = tuple(
        (dim, _string(d[dim], where, f"rubric.{dim}")) for dim in RUBRIC_DIMENSIONS if dim in d
    )
    if not criteria:
        raise where.error("rubric", f"expected at least one of {', '.join(RUBRIC_DIMENSIONS)}")
    raw_words = d.get("keywords", [])
    if not isinstance(raw_words, list):
        raise where.error("rubric.keywords", f"expected a list of words, got {raw_words!r}")
    words = tuple(_string(w, where, f"rubric.keywords[{i}]") for i, w in enumerate(raw_words))
    return Rubric(criteria, words)


def _step(raw: object, where: _Where, field: str) -> Step:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise where.error(field, f"expected {{say: text}} or {{pause: seconds}}, got {raw!r}")
    ((key, value),) = raw.items()
    if key == "say":
        return Say(_string(value, where, f"{field}.say"))
    if key == "pause":
        return Pause(_number(value, where, f"{field}.pause", PAUSE_RANGE))
    raise where.error(f"{field}.{key}", "unknown step (expected 'say' or 'pause')")


def _script(raw: object, where: _Where) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.error("script", f"expected a non-empty list of steps, got {_describe(raw)}")
    steps = tuple(_step(s, where, f"script[{i}]") for i, s in enumerate(raw))
    for i, step in enumerate(steps):
        # Alternation makes each pause exactly one gap between two speech spans.
        want = Say if i % 2 == 0 else Pause
        if not isinstance(step, want):
            raise where.error(
                f"script[{i}]",
                "steps must alternate say/pause, starting with say "
                "(outer silence comes from lead_in and tail)",
            )
    if isinstance(steps[-1], Pause):
        raise where.error(f"script[{len(steps) - 1}]", "a script must end with a say step")
    return steps


def _item(raw: object, index: int, defaults: Defaults, path: Path) -> ItemSpec:
    where = _Where(path, f"items[{index}]")
    d = _mapping(raw, where, "")
    if "id" not in d:
        raise where.error("id", "missing")
    item_id = _string(d["id"], where, "id")
    if not _ID_PATTERN.match(item_id):
        raise where.error("id", f"{item_id!r} may use only letters, digits, '_', '.' and '-'")
    where = _Where(path, f"item {item_id!r}")
    _check_keys(d, _ITEM_KEYS, where, "")
    conversation = None
    if "conversation" in d:
        for other in ("script", "interrupt"):
            if other in d:
                raise where.error(
                    other, "a conversation item has none: the examiner speaks during the session"
                )
        conversation = parse_conversation(d["conversation"], defaults.conversation, where)
    elif "script" not in d:
        raise where.error("script", "missing")
    if "interrupt" in d and "overlap" in d:
        raise where.error("overlap", "an item has an interrupt or an overlap, not both")
    voice = _voice(d["voice"], where, "voice") if "voice" in d else defaults.voice
    return ItemSpec(
        id=item_id,
        voice=voice,
        rate=_number(d.get("rate", defaults.rate), where, "rate", RATE_RANGE),
        seed=_integer(d.get("seed", defaults.seed), where, "seed"),
        script=() if conversation is not None else _script(d["script"], where),
        conversation=conversation,
        note=_string(d["note"], where, "note") if "note" in d else "",
        interrupt=_interrupt(d["interrupt"], defaults.interrupt, where)
        if "interrupt" in d
        else None,
        rubric=_rubric(d["rubric"], where) if "rubric" in d else Rubric(),
        overlap=_overlap(d["overlap"], defaults.overlap, voice, where) if "overlap" in d else None,
    )


def parse_suite(raw: object, path: Path) -> SuiteSpec:
    """Validate a loaded YAML document; ``path`` is only used to name the file in errors."""
    where = _Where(path)
    top = _mapping(raw, where, "")
    _check_keys(top, _TOP_KEYS, where, "")
    for key in ("suite", "version", "items"):
        if key not in top:
            raise where.error(key, "missing")
    suite = _string(top["suite"], where, "suite")
    if not _ID_PATTERN.match(suite):
        raise where.error("suite", f"{suite!r} may use only letters, digits, '_', '.' and '-'")
    version = top["version"]
    if not isinstance(version, str) or not _VERSION_PATTERN.match(version):
        raise where.error("version", f"expected a quoted string like '1.0', got {version!r}")
    defaults = _defaults(top.get("defaults"), where)
    raw_items = top["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise where.error("items", f"expected a non-empty list, got {_describe(raw_items)}")
    items = tuple(_item(raw, i, defaults, path) for i, raw in enumerate(raw_items))
    task = _string(top["task"], where, "task") if "task" in top else suite
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in seen:
            raise _Where(path, f"item {item.id!r}").error(
                "id", f"duplicate (items[{seen[item.id]}] and items[{i}])"
            )
        seen[item.id] = i
    if any(item.overlap is not None for item in items):
        for item in items:
            if item.id.endswith(CLEAN_SUFFIX):
                raise _Where(path, f"item {item.id!r}").error(
                    "id", f"ids ending in {CLEAN_SUFFIX!r} name the clean variants of overlap items"
                )
        items = tuple(v for item in items for v in variants(item))
    return SuiteSpec(
        path=path,
        suite=suite,
        version=version,
        task=task,
        description=_string(top["description"], where, "description")
        if "description" in top
        else "",
        defaults=defaults,
        items=items,
    )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_spec(path: Path | str) -> SuiteSpec:
    """Read and validate a suite file; any problem is a :class:`ScenarioError`."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario suite file")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path.name}: invalid YAML{at}: {problem}") from exc
    return parse_suite(raw, path)
