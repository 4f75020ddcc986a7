"""The examiner's lines: written by a language model towards the item's goal, or the script's.

A writer turns a :class:`LineRequest` (the goal of this turn, its scripted line, what was said so
far) into a :class:`Line`. ``script`` says the goal's ``say`` line. The language-model writers
(:mod:`duplex.conversation.chat`: the embedded SmolLM2 by default, Anthropic or an
OpenAI-compatible endpoint) write a line of their own from a versioned prompt
(``prompts/examiner_v1.txt``), and the line is checked before it is said: it must carry what
the goal's line carries (the corrected fact, a name, a number, a question mark), read as one
person's short turn, and not speak as the assistant. A line that fails is replaced by the
script's, and the turn records why (``ExaminerTurn.source``/``note``): a 135M-parameter model
often rambles or answers as the assistant, and an item whose correction was never said would
measure the examiner, not the model.

Lines a language model wrote are cached (``$DUPLEX_BENCH_CACHE/examiner/lines.sqlite``) by the
writer, its model, the prompt's hash and the request, so a re-run says the same thing for free.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from duplex.annotations import Goal
from duplex.cache import KeyedStore, cache_dir
from duplex.judges.evidence import contains, normal
from duplex.models.cascade.turn import INCOMPLETE_LAST_WORDS, words

#: the prompt of writers that read the conversation so far (API models)
PROMPT_VERSION = "examiner_v1"
#: the prompt of the embedded model, which rewrites the goal's line (it cannot hold a role)
PARAPHRASE_VERSION = "examiner_paraphrase_v1"
#: said at the end of every conversation (Full-Duplex-Bench v2's examiner ends with a fixed phrase)
CLOSING = "Okay, thank you, that's all I needed. Goodbye!"
#: how many earlier lines the prompt shows
HISTORY_LINES = 4
MIN_WORDS, MAX_WORDS = 3, 40
#: phrases of an assistant, not of the person the examiner plays
ASSISTANT_TALK = (
    "as an ai",
    "language model",
    "how can i help",
    "how can i assist",
    "i can help you",
    "i'm here to help",
    "assistant:",
    "user:",
    # a small model narrates instead of speaking ("The person is moving to Portland")
    "the person",
    "this person",
    "the user",
)
#: who a line speaks of, by grammatical person (normalised: apostrophes dropped)
_PERSON_WORDS = {
    "first": "i im ive id ill me my mine myself we us our ours",
    "second": "you youre youve youd youll your yours yourself",
    "third": "he hes him his she shes her hers they theyre them their theirs",
}
PERSONS = {person: frozenset(text.split()) for person, text in _PERSON_WORDS.items()}


@dataclass(frozen=True)
class LineRequest:
    """One turn to write. ``history``: (``"you"`` or ``"assistant"``, text), oldest first, as the
    examiner heard it."""

    kind: str
    goal: Goal
    trigger: str
    history: tuple[tuple[str, str], ...] = ()

    def key(self, contextual: bool = True) -> str:
        """The request as the cache sees it: without the conversation so far when the line
        does not depend on it."""
        doc = asdict(self)
        if not contextual:
            doc["history"], doc["trigger"] = [], ""
        return json.dumps(doc, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Line:
    text: str
    source: str  # "script" or the writer that wrote it
    note: str = ""  # why the script's line was said instead of the writer's


class Writer(Protocol):
    name: str
    #: whether a line depends on the conversation so far (else it is written before the session)
    contextual: bool

    def write(self, request: LineRequest) -> Line: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class ScriptWriter:
    """Says each goal's scripted line."""

    name = "script"
    contextual = False

    def write(self, request: LineRequest) -> Line:
        return Line(request.goal.say, "script")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- the prompt


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt: a system part, ``---``, a user template with ``{goal}``, ``{say}``
    and optionally ``{history}``. Without ``{history}`` a line depends on its goal only, so it
    can be written before the session starts and is the same whichever model is examined."""

    version: str
    system: str
    user: str
    sha256: str

    @property
    def contextual(self) -> bool:
        return "{history}" in self.user

    def render(self, request: LineRequest) -> str:
        shown = request.history[-HISTORY_LINES:]
        history = ""
        if shown:
            said = "\n".join(
                f"{'You' if who == 'you' else 'Assistant'}: {text}" for who, text in shown
            )
            history = f"So far:\n{said}\n\n"
        return self.user.format(history=history, goal=request.goal.goal, say=request.goal.say)


def load_prompt(version: str = PROMPT_VERSION) -> Prompt:
    text = (resources.files("duplex.conversation") / "prompts" / f"{version}.txt").read_text()
    system, _, user = text.partition("\n---\n")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Prompt(version, system.strip(), user.strip(), digest)


# ----------------------------------------------------------------------------- checking

_NAME_OR_NUMBER = re.compile(r"(?<![\w'])(\d[\d:.,]*\d|\d|[A-Z][a-z]+)(?![\w'])")
#: words that carry no content of their own (the end-of-turn rule's function words, and a few)
_MORE_STOP = (
    "im its dont do does did not no yes me my mine our your you what which who how when where "
    "why is are was be the a an and or of to in on at for with about just really very "
    "okay oh wait sorry actually please"
)
_STOP = INCOMPLETE_LAST_WORDS | frozenset(_MORE_STOP.split())
#: share of the goal line's content words a rewritten line keeps
KEEP_CONTENT = 0.7


def content_words(text: str) -> set[str]:
    return {w for w in normal(text).split() if w not in _STOP}


def _position(text: str, group: tuple[str, ...]) -> int:
    """Where the first of ``group`` occurs in ``text`` (normalised), -1 when none does."""
    spots = [normal(text).find(normal(t)) for t in group if contains(text, t)]
    return min(spots) if spots else -1


def required_terms(goal: Goal) -> list[tuple[str, ...]]:
    """What a rewritten line must keep of the goal's line, in the order the line says them:
    the expected words it states (a correction says the new fact), and its numbers and names
    (capitalised words not at the start of a sentence). Each entry lists alternatives, one of
    which must appear."""
    found: list[tuple[int, tuple[str, ...]]] = []
    stated = tuple(w for w in goal.expect if contains(goal.say, w))
    if stated:
        found.append((_position(goal.say, stated), stated))
    for m in _NAME_OR_NUMBER.finditer(goal.say):
        before = goal.say[: m.start()].rstrip()
        token = m.group(1)
        if token[0].isupper() and (not before or before[-1] in ".!?\"'"):
            continue  # a sentence's first word: capitalised for grammar, not a name
        if not any(contains(token, t) for _at, group in found for t in group):
            found.append((_position(goal.say, (token,)), (token,)))
    found.sort(key=lambda x: x[0])
    return [group for _at, group in found]


def tidy(text: str) -> str:
    """What a model's answer says the person should say: the first quoted stretch of at least
    three words if there is one (small models wrap their line in a sentence about it), else the
    first non-empty line; labels, quotes and markup removed; at most two sentences."""
    quoted = [q for q in re.findall(r"[\"“]([^\"”]+)[\"”]", text) if len(q.split()) >= 3]
    line = quoted[0] if quoted else next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(you|me|user|person)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = re.sub(r"[\"“”*]", "", line).strip().strip("'").strip()  # quotes are not spoken
    sentences = re.split(r"(?<=[.!?])\s+", line)
    return " ".join(sentences[:2]).strip()


def check_line(text: str, goal: Goal, heard: str = "", said: tuple[str, ...] = ()) -> str | None:
    """Why ``text`` cannot stand for ``goal``'s line, or None when it can (``heard``: the
    model's last words; ``said``: the examiner's earlier lines)."""
    n = len(words(text))
    if not MIN_WORDS <= n <= MAX_WORDS:
        return f"{n} words (a line has {MIN_WORDS}-{MAX_WORDS})"
    low = text.lower()
    for phrase in ASSISTANT_TALK:
        if phrase in low:
            return f"speaks as the assistant or about the user ({phrase!r})"
    mine, theirs = set(normal(text).split()), set(normal(goal.say).split())
    for person, pronouns in PERSONS.items():
        if mine & pronouns and not theirs & pronouns:
            # "You're painting your bedroom" for "I'm painting my bedroom": the speaker flipped
            return f"speaks in the {person} person where the goal's line does not"
    groups = required_terms(goal)
    for group in groups:
        if not any(contains(text, t) for t in group):
            return f"leaves out {group[0]!r}"
    places = [_position(text, g) for g in groups]
    if places != sorted(places):
        return "says the facts in another order (a correction could be turned round)"
    if goal.say.rstrip().endswith("?") and "?" not in text:
        return "the goal's line asks a question and this one does not"
    need = content_words(goal.say)
    kept = need & content_words(text)
    if need and len(kept) < KEEP_CONTENT * len(need):
        return f"keeps {len(kept)} of the goal line's {len(need)} content words"
    if heard and words(text) == words(heard):
        return "repeats what the assistant said"
    if any(words(text) == words(s) for s in said):
        return "repeats an earlier line"
    return None


# ----------------------------------------------------------------------------- the cache


class LineCache(KeyedStore):
    """Lines a language model wrote, by request; ``path`` None keeps them in memory (tests)."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path, "lines", "text")

    @classmethod
    def default(cls) -> LineCache:
        return cls(cache_dir("examiner") / "lines.sqlite")

    @staticmethod
    def key(writer: str, model: str, prompt: Prompt, request: LineRequest) -> str:
        doc = [writer, model, prompt.version, prompt.sha256, request.key(prompt.contextual)]
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        return self.read(key)

    def put(self, key: str, text: str) -> None:
        self.write(key, text)
