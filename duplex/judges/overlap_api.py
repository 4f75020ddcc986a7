"""API judges for the overlap behaviour label, the label cache, and labelling many pairs.

An API labeller wraps a remote judge (:mod:`duplex.judges.remote`: ``anthropic:...`` or
``openai-compatible:...``) and asks it, through its ``complete(system, user)``, the versioned
prompt ``prompts/overlap_label_v1.txt``; the answer's last ``Label: X`` line is the label. They
are opt-in: the embedded labeller (:class:`duplex.judges.overlap.EmbeddedLabeller`, spec
``smollm2``) is the default.

API labels are cached in ``$DUPLEX_BENCH_CACHE/judges/overlap_labels.sqlite``, keyed by the judge,
its model, the prompt version and the prompt file's hash, and the case (both transcripts with
word times, the overlap, the context): a re-run is identical and free. As with verdicts, only a
label is stored; a missing one (an outage, an answer without a label) is asked again next time.
The embedded labeller is not cached: it is deterministic and cheap, and its rules are code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from duplex.cache import KeyedStore, cache_dir
from duplex.errors import ConfigError
from duplex.judges import load_judge
from duplex.judges.base import JudgeError
from duplex.judges.engine import DEFAULT_BACKOFF, Backoff, Sleep, fan_out, with_retries
from duplex.judges.overlap import (
    EmbeddedLabeller,
    LabelCase,
    Labeller,
    LabelVerdict,
    TimedWord,
)
from duplex.metrics.overlap_handling import LABELS

_log = logging.getLogger(__name__)

API_PROMPT = "overlap_label_v1"
MAX_TOKENS = 400
#: The spec of the embedded labeller (the same name as the embedded judge of interruptions).
EMBEDDED = "smollm2"


@dataclass(frozen=True)
class LabelPrompt:
    version: str
    system: str
    user: str
    sha256: str


def load_label_prompt(version: str = API_PROMPT) -> LabelPrompt:
    if not re.fullmatch(r"[a-z0-9_]+", version):
        raise ConfigError(f"prompt version {version!r}: expected letters, digits and _")
    path = resources.files("duplex.judges") / "prompts" / f"{version}.txt"
    if not path.is_file():
        raise ConfigError(f"unknown label prompt {version!r} (no {version}.txt)")
    text = path.read_text(encoding="utf-8")
    system, sep, user = text.partition("\n---\n")
    if not sep or "{overlapped}" not in user:
        raise ConfigError(f"label prompt {version}.txt: expected SYSTEM, a --- line, then USER")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return LabelPrompt(version, system.strip(), user.strip(), digest)


def _timed(words: Sequence[TimedWord]) -> str:
    if not words:
        return "(no words)"
    return " ".join(f"[{w.start:.2f}-{w.end:.2f}] {w.text}" for w in words)


def render_prompt(case: LabelCase, prompt: LabelPrompt | None = None) -> tuple[str, str]:
    """``(system, user)`` of the label prompt for ``case``."""
    p = prompt or load_label_prompt()
    return p.system, p.user.format(
        context=case.context.strip() or "(not given)",
        talker=case.talker or "unknown",
        start=case.start,
        end=case.end,
        overlap=case.overlap.strip(),
        clean=_timed(case.clean),
        overlapped=_timed(case.overlapped),
    )


_LABEL_LINE = re.compile(r"label\s*[:=]\s*\**\s*([a-z_]+)", re.IGNORECASE)


def parse_label(text: str) -> tuple[str | None, str]:
    """The label of an answer (its last ``Label: X`` line), or None and why."""
    found = _LABEL_LINE.findall(text)
    if not found:
        return None, "no 'Label: X' line in the judge's answer"
    label = found[-1].lower()
    label = {"uncertain_handling": "uncertain"}.get(label, label)
    if label not in LABELS:
        return None, f"label {found[-1]!r} is not one of {', '.join(LABELS)}"
    return label, ""


class ApiLabeller:
    """A remote judge asked the label prompt (module doc)."""

    cacheable = True

    def __init__(self, spec: str, prompt: str = API_PROMPT) -> None:
        self.api: Any = load_judge(spec)
        if not callable(getattr(self.api, "complete", None)):
            self.api.close()
            raise ConfigError(f"judge {spec!r} cannot label overlaps (it has no chat completion)")
        self.prompt = load_label_prompt(prompt)
        self.name = str(self.api.name)
        self.model = str(self.api.model)
        self.prompt_version = self.prompt.version
        self.prompt_sha = self.prompt.sha256
        self.max_concurrency = int(self.api.max_concurrency)
        self.max_attempts = int(self.api.max_attempts)

    def label(self, case: LabelCase) -> LabelVerdict:
        text = self.api.complete(*render_prompt(case, self.prompt), MAX_TOKENS)
        label, why = parse_label(text)
        if label is None:
            raise JudgeError(f"malformed answer: {why}")
        head = _LABEL_LINE.split(text, maxsplit=1)[0].strip()[:400]
        return LabelVerdict(label, head, self.name, self.model, self.prompt_version, raw=text)

    def describe(self) -> dict[str, Any]:
        return {
            **self.api.describe(),
            "prompt_version": self.prompt_version,
            "prompt_sha256": self.prompt_sha,
        }

    def close(self) -> None:
        self.api.close()


def load_labeller(spec: str) -> Labeller:
    """``smollm2`` (the embedded labeller) or an API judge spec."""
    if spec.strip() == EMBEDDED:
        return EmbeddedLabeller()
    return ApiLabeller(spec)


# ------------------------------------------------------------------------------ the cache


def label_key(labeller: Labeller, case: LabelCase) -> str:
    doc = [labeller.name, labeller.model, labeller.prompt_version, labeller.prompt_sha, case.key()]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


class LabelCache(KeyedStore):
    """Thread-safe sqlite store of labels; ``path`` None keeps it in memory (tests)."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path, "labels", "verdict")

    @classmethod
    def default(cls) -> LabelCache:
        return cls(cache_dir("judges") / "overlap_labels.sqlite")

    def get(self, key: str) -> LabelVerdict | None:
        text = self.read(key)
        return None if text is None else LabelVerdict.from_json(json.loads(text), cached=True)

    def put(self, key: str, verdict: LabelVerdict) -> None:
        if verdict.label is None:
            return
        self.write(key, json.dumps(verdict.to_json(), ensure_ascii=False))


# --------------------------------------------------------------------------- many pairs


def _missing(labeller: Labeller, reason: str) -> LabelVerdict:
    return LabelVerdict(None, reason, labeller.name, labeller.model, labeller.prompt_version)


def label_with_retries(
    labeller: Labeller,
    case: LabelCase,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = time.sleep,
) -> LabelVerdict:
    """One pair, retried on transient failures (as :func:`duplex.judges.engine.
    rate_with_retries` does for ratings); never raises for a judge failure."""
    return with_retries(
        labeller,
        lambda: labeller.label(case),
        lambda reason: _missing(labeller, reason),
        backoff=backoff,
        sleep=sleep,
    )


def label_cases(
    labeller: Labeller,
    cases: Sequence[LabelCase],
    *,
    cache: LabelCache | None = None,
    concurrency: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = time.sleep,
) -> list[LabelVerdict]:
    """Verdicts in the order of ``cases``; cached ones are not asked again."""
    keys = [label_key(labeller, c) for c in cases]

    def one(index: int) -> LabelVerdict:
        verdict = label_with_retries(labeller, cases[index], backoff=backoff, sleep=sleep)
        if cache is not None:
            cache.put(keys[index], verdict)
        return verdict

    cached = [cache.get(k) if cache else None for k in keys]
    return fan_out(cached, one, concurrency, labeller.max_concurrency, "label")
