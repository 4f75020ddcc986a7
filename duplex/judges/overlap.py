"""Behaviour labels for overlap runs: respond / resume / uncertain / unknown, from the clean and the
overlapped transcripts with word times, and the figures that need both runs of a pair.

Full-Duplex-Bench v1.5 asks an LLM (gpt-4o) to choose the label. The embedded SmolLM2-135M does
not follow such a prompt (see :mod:`duplex.judges.smollm2`), so the embedded labeller is rules
on word times, with the LM deciding only the cases the rules leave open:

The labels mean what the anchor's judge instruction says: *respond* addresses the overlap's
content; *resume* goes on with the answer under way (talking through counts: a model that keeps
the floor resumes by not stopping); *uncertain* signals trouble hearing ("sorry?", "could you
repeat that?") without a content answer; *unknown* is nothing to judge or nothing meaningful,
including no speech after the overlap started.

1. **unknown**: no words in the overlapped run; or no words after the overlap started in
   *either* run (the answer was over before the overlap: nothing was overlapped).
2. The words of the overlapped run that start ``grace_s`` after the overlap start (a word under
   way may finish) are the *post* words. None -> **unknown** (it stopped and stayed silent).
3. A phrase of ``uncertain_phrases`` in the post words' first ``uncertain_window`` words, with
   the words not continuing the answer (continuity below ``resume_above``) -> **uncertain**.
4. At most ``few_words`` post words where the clean run said more than twice that -> **unknown**
   (a word cut off at the stop is neither an answer nor the answer going on).
5. *Continuity*: the share of post words that continue the clean run's answer - matched, in
   order (difflib's matching blocks), against the clean words from ``reference_lead_s`` before
   the overlap start on. Above ``resume_above`` -> **resume**. Below ``respond_below``: a few
   new words (at most ``few_words``) -> **unknown**, more -> **respond**.
6. In between, the LM: SmolLM2's log-likelihood of the post words after the context and the
   overlap as a user turn, minus after the context alone, per token. Above
   ``lm_respond_above`` the new words follow the overlap -> **respond**, else **resume**.

Settings live in ``prompts/overlap_rules_v2.json`` (the labeller's version, with its hash in
every verdict). API judges (opt-in) read the versioned prompt ``prompts/overlap_label_v1.txt``:
:mod:`duplex.judges.overlap_api`. A run folder is labelled by :mod:`duplex.report.overlap_pairs`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Protocol

from duplex.judges.base import Backend

RULES_VERSION = "overlap_rules_v2"


@dataclass(frozen=True)
class TimedWord:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class LabelCase:
    """What the labeller reads for one item: both transcripts and the overlap."""

    item_id: str
    context: str
    overlap: str
    talker: str
    start: float  # the overlap's start and the end of its speech, s
    end: float
    clean: tuple[TimedWord, ...]
    overlapped: tuple[TimedWord, ...]

    def key(self) -> str:
        """What the labeller reads, as canonical JSON (the id is not read, so not in it)."""
        d = asdict(self)
        del d["item_id"]
        return json.dumps(d, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class LabelVerdict:
    """One label; ``label`` None means missing and ``reason`` says why. ``raw`` is an API
    judge's answer as given; ``cached`` whether it came from the label cache."""

    label: str | None
    reason: str
    judge: str
    model: str
    prompt_version: str
    features: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "cached"}

    @classmethod
    def from_json(cls, d: dict[str, Any], *, cached: bool = False) -> LabelVerdict:
        return cls(
            label=d.get("label"),
            reason=str(d.get("reason", "")),
            judge=str(d["judge"]),
            model=str(d["model"]),
            prompt_version=str(d["prompt_version"]),
            features=dict(d.get("features") or {}),
            raw=str(d.get("raw", "")),
            cached=cached,
        )


class Labeller(Backend, Protocol):
    """Labels one pair. ``label`` raises :class:`duplex.judges.base.RetryableError` for a
    transient failure (the caller retries) and :class:`duplex.judges.base.JudgeError` for a
    final one; it never invents a label."""

    #: whether its verdicts go into the label cache (API judges: yes)
    cacheable: bool

    def label(self, case: LabelCase) -> LabelVerdict: ...


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9']", "", text.lower())


def tokens(words: Sequence[TimedWord]) -> list[str]:
    return [t for t in (_norm(w.text) for w in words) if t]


def continuity(post: Sequence[str], reference: Sequence[str]) -> float:
    """Share of ``post`` matched in order inside ``reference`` (0 when ``post`` is empty)."""
    if not post:
        return 0.0
    m = difflib.SequenceMatcher(None, list(post), list(reference), autojunk=False)
    return sum(b.size for b in m.get_matching_blocks()) / len(post)


def _settings() -> tuple[dict[str, Any], str]:
    text = (resources.files("duplex.judges") / "prompts" / f"{RULES_VERSION}.json").read_text()
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()[:16]


def phrase_text(words: Sequence[TimedWord]) -> str:
    """Words as one lowercase string for phrase matching: question marks kept as tokens (a bare
    "sorry?" asks, "sorry, go ahead" does not), other punctuation dropped."""
    text = " ".join(w.text for w in words).lower().replace("?", " ? ")
    return " " + " ".join(re.sub(r"[^a-z0-9'?]+", " ", text).split()) + " "


def rule_label(case: LabelCase, s: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """Steps 1-5 of the module doc: ``(label or None if the LM must decide, reason, features)``."""
    after = case.start + float(s["grace_s"])
    post = [w for w in case.overlapped if w.start >= after]
    clean_after = [w for w in case.clean if w.start >= after]
    features: dict[str, Any] = {"post_words": len(post), "clean_words_after": len(clean_after)}
    if not case.overlapped:
        return "unknown", "no words in the overlapped run", features
    if not post and not clean_after:
        return "unknown", "the answer was over before the overlap in both runs", features
    if not post:
        return "unknown", "stopped after the overlap started and said nothing more", features
    reference = [w for w in case.clean if w.start >= case.start - float(s["reference_lead_s"])]
    c = continuity(tokens(post), tokens(reference))
    features["continuity"] = round(c, 3)
    head = phrase_text(post[: int(s["uncertain_window"])])
    asked = [p for p in s["uncertain_phrases"] if f" {p} " in head]
    if asked and c <= float(s["resume_above"]):
        return "uncertain", f"asks to hear it again ({asked[0]!r}) after the overlap", features
    few = int(s["few_words"])
    if len(post) <= few and len(clean_after) > 2 * few:
        why = f"{len(post)} word(s) after the overlap; the clean run said {len(clean_after)}"
        return "unknown", why, features
    if c > float(s["resume_above"]):
        return "resume", f"{c:.0%} of the words after the overlap continue the answer", features
    if c < float(s["respond_below"]):
        if len(post) <= few:
            return "unknown", f"only {len(post)} new word(s) after the overlap", features
        return "respond", f"{1 - c:.0%} of the words after the overlap are new", features
    return None, f"continuity {c:.2f} is between the thresholds", features


class EmbeddedLabeller:
    """Rules plus SmolLM2 likelihoods (module doc); deterministic and offline."""

    name = "smollm2-rules"
    model = "SmolLM2-135M-Instruct-Q4_1"
    max_concurrency = 1  # the LM is not thread-safe
    max_attempts = 1  # deterministic: asking again gives the same answer
    cacheable = False  # deterministic and cheap, and its rules are code

    def __init__(self) -> None:
        self.settings, self.prompt_sha = _settings()
        self.prompt_version = RULES_VERSION
        self._lm: Any = None  # loaded on the first case the rules leave open

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "prompt_sha256": self.prompt_sha,
            "method": "word-time rules; SmolLM2 log-likelihood gain of the overlap in between",
        }

    def lm_margin(self, case: LabelCase, post: str) -> float:
        """Per-token log-likelihood gain of ``post`` from hearing the overlap (nats)."""
        from duplex.judges.base import JudgeInput, JudgeSpec
        from duplex.judges.smollm2 import SmolLM2Judge

        if self._lm is None:
            self._lm = SmolLM2Judge(JudgeSpec("smollm2", "smollm2"))
        _, parts = self._lm.relevance(JudgeInput(case.context, case.overlap, post))
        return (float(parts["full"]) - float(parts["context"])) / float(parts["tokens"])

    def label(self, case: LabelCase) -> LabelVerdict:
        label, reason, features = rule_label(case, self.settings)
        if label is None:
            after = case.start + float(self.settings["grace_s"])
            post = " ".join(w.text for w in case.overlapped if w.start >= after)
            margin = self.lm_margin(case, post)
            features["lm_margin"] = round(margin, 4)
            label = "respond" if margin > float(self.settings["lm_respond_above"]) else "resume"
            reason += f"; the overlap {'explains' if label == 'respond' else 'does not explain'}"
            reason += f" the new words (LM gain {margin:+.3f} nats/token)"
        return LabelVerdict(label, reason, self.name, self.model, self.prompt_version, features)

    def close(self) -> None:
        if self._lm is not None:
            self._lm.close()
            self._lm = None
