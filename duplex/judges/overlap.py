"""Behaviour labels for overlap runs: respond / resume / uncertain / unknown, from the clean and the
overlapped transcripts with word times, and the figures that need both runs of a pair.

Full-Duplex-Bench v1.5 asks an LLM (gpt-4o) to choose the label. The embedded SmolLM2-135M does
not follow such a prompt (see :mod:`duplex.judges.smollm2`), so the embedded labeller is rules
on word times, with the LM deciding only the cases the rules leave open:

1. **unknown**: no words in the overlapped run; or no words after the overlap started in
   *either* run (the answer was over before the overlap: nothing was overlapped).
2. The words of the overlapped run that start ``grace_s`` after the overlap start (a word under
   way may finish) are the *post* words. None -> **uncertain** (it stopped and stayed silent);
   at most ``few_words`` where the clean run said more than twice that -> **uncertain** too (a
   word cut off at the stop, or "sorry?", is neither an answer nor the answer going on).
3. *Continuity*: the share of post words that continue the clean run's answer - matched, in
   order (difflib's matching blocks), against the clean words from ``reference_lead_s`` before
   the overlap start on. Above ``resume_above`` -> **resume**. Below ``respond_below``: a few
   new words (at most ``few_words``) -> **uncertain**, more -> **respond**.
4. In between, the LM: SmolLM2's log-likelihood of the post words after the context and the
   overlap as a user turn, minus after the context alone, per token. Above
   ``lm_respond_above`` the new words follow the overlap -> **respond**, else **resume**.

Settings live in ``prompts/overlap_rules_v1.json`` (the labeller's version, with its hash in
every verdict); the prompt for API judges is ``prompts/overlap_label_v1.txt`` with
:func:`render_prompt` and :func:`parse_label`.

:func:`label_run` labels a run folder of task ``overlap`` (rows ``<id>.clean`` and ``<id>``),
writes every verdict to ``RUN/overlap_labels.jsonl`` and adds to ``summary.json``: the label
counts, the rate of the expected behaviour (resume for backchannels, side talk and background
speech, respond for interruptions) and the prosody shifts between the clean and the overlapped
runs with paired tests, over all pairs and over the pairs labelled respond (FDB's choice).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from duplex.errors import ResultsError
from duplex.metrics.prosody import paired_test
from duplex.metrics.stats import summarize
from duplex.report.store import RunStore
from duplex.scenarios.spec import CLEAN_SUFFIX, base_id

LABELS = ("respond", "resume", "uncertain", "unknown")
RULES_VERSION = "overlap_rules_v1"
API_PROMPT = "overlap_label_v1"
LABELS_FILE = "overlap_labels.jsonl"
#: Prosody compared between the clean and the overlapped run (metric keys of task "overlap").
PROSODY = ("wpm_after", "pitch_mean_after_st", "pitch_sd_after_st", "intensity_after_db")


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
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class LabelVerdict:
    """One label; ``label`` None means missing and ``reason`` says why."""

    label: str | None
    reason: str
    judge: str
    model: str
    prompt_version: str
    features: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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


def rule_label(case: LabelCase, s: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """Steps 1-3 of the module doc: ``(label or None if the LM must decide, reason, features)``."""
    after = case.start + float(s["grace_s"])
    post = [w for w in case.overlapped if w.start >= after]
    clean_after = [w for w in case.clean if w.start >= after]
    features: dict[str, Any] = {"post_words": len(post), "clean_words_after": len(clean_after)}
    if not case.overlapped:
        return "unknown", "no words in the overlapped run", features
    if not post and not clean_after:
        return "unknown", "the answer was over before the overlap in both runs", features
    if not post:
        return "uncertain", "stopped after the overlap started and said nothing more", features
    few = int(s["few_words"])
    if len(post) <= few and len(clean_after) > 2 * few:
        # a word cut off at the stop, or "sorry?": not an answer, and not the answer going on
        why = f"{len(post)} word(s) after the overlap; the clean run said {len(clean_after)}"
        return "uncertain", why, features
    reference = [w for w in case.clean if w.start >= case.start - float(s["reference_lead_s"])]
    c = continuity(tokens(post), tokens(reference))
    features["continuity"] = round(c, 3)
    if c > float(s["resume_above"]):
        return "resume", f"{c:.0%} of the words after the overlap continue the answer", features
    if c < float(s["respond_below"]):
        if len(post) <= few:
            return "uncertain", f"only {len(post)} new word(s) after the overlap", features
        return "respond", f"{1 - c:.0%} of the words after the overlap are new", features
    return None, f"continuity {c:.2f} is between the thresholds", features


class EmbeddedLabeler:
    """Rules plus SmolLM2 likelihoods (module doc); deterministic and offline."""

    name = "smollm2-rules"
    model = "SmolLM2-135M-Instruct-Q4_1"

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


# --------------------------------------------------------------------- API judges' prompt


def _timed(words: Sequence[TimedWord]) -> str:
    if not words:
        return "(no words)"
    return " ".join(f"[{w.start:.2f}-{w.end:.2f}] {w.text}" for w in words)


def render_prompt(case: LabelCase) -> tuple[str, str]:
    """``(system, user)`` of the versioned API prompt for ``case``."""
    text = (resources.files("duplex.judges") / "prompts" / f"{API_PROMPT}.txt").read_text()
    system, _, user = text.partition("\n---\n")
    return system.strip(), user.strip().format(
        context=case.context,
        talker=case.talker,
        start=case.start,
        end=case.end,
        overlap=case.overlap,
        clean=_timed(case.clean),
        overlapped=_timed(case.overlapped),
    )


_LABEL_LINE = re.compile(r"label\s*[:=]\s*\**\s*([a-z]+)", re.IGNORECASE)


def parse_label(text: str) -> tuple[str | None, str]:
    """The label of an API judge's answer (its last "Label: X" line), or None and why."""
    found = _LABEL_LINE.findall(text)
    if not found:
        return None, "no 'Label: X' line in the judge's answer"
    label = found[-1].lower()
    if label not in LABELS:
        return None, f"label {found[-1]!r} is not one of {', '.join(LABELS)}"
    return label, ""


# --------------------------------------------------------------------- run folders


def _words(details: dict[str, Any]) -> tuple[TimedWord, ...]:
    raw = json.loads(details.get("words") or "[]")
    return tuple(TimedWord(float(a), float(b), str(t)) for a, b, t in raw)


def pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(clean row, overlapped row)`` of every item whose two runs are both ok, in file order."""
    ok = {r["item_id"]: r for r in rows if r.get("status") == "ok"}
    out = []
    for item_id, row in ok.items():
        base, clean = base_id(item_id)
        if not clean and base + CLEAN_SUFFIX in ok:
            out.append((ok[base + CLEAN_SUFFIX], row))
    return out


def case_of(clean: dict[str, Any], over: dict[str, Any]) -> LabelCase:
    d, m = over.get("details") or {}, over.get("metrics") or {}
    if d.get("variant") != "overlap" or m.get("overlap_start_s") is None:
        raise ResultsError(f"item {over['item_id']!r}: no resolved overlap in its result row")
    return LabelCase(
        item_id=over["item_id"],
        context=str(d.get("context", "")),
        overlap=str(d.get("overlap_text", "")),
        talker=str(d.get("talker", "")),
        start=float(m["overlap_start_s"]),
        end=float(m["overlap_end_s"]),
        clean=_words(clean.get("details") or {}),
        overlapped=_words(d),
    )


def aggregate(
    labelled: Sequence[tuple[dict[str, Any], dict[str, Any], LabelVerdict]],
) -> dict[str, Any]:
    """Label counts, the expected-behaviour rate, and prosody shifts with paired tests."""
    counts = Counter(v.label or "missing" for _, _, v in labelled)
    expected = [
        {
            "expected": None
            if v.label is None
            else int(v.label == (o.get("details") or {}).get("expect"))
        }
        for _, o, v in labelled
    ]
    shifts: dict[str, Any] = {}
    for subset in ("all", "respond"):
        chosen = [(c, o) for c, o, v in labelled if subset == "all" or v.label == "respond"]
        shifts[subset] = {
            key: paired_test(
                [(c.get("metrics") or {}).get("clean_" + key) for c, _ in chosen],
                [(o.get("metrics") or {}).get(key) for _, o in chosen],
            ).to_json()
            for key in PROSODY
        }
    return {
        "labels": {label: counts.get(label, 0) for label in (*LABELS, "missing")},
        "expected_rate": summarize(expected, ["expected"])["expected"],
        "prosody_shift": shifts,
    }


def label_run(run_dir: Path | str, labeler: EmbeddedLabeler | None = None) -> dict[str, Any]:
    """Label every pair of an ``overlap`` run folder; returns the updated summary (also written)."""
    folder = Path(run_dir)
    store = RunStore(folder)
    summary_path = folder / "summary.json"
    try:
        summary: dict[str, Any] = json.loads(summary_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{summary_path}: unreadable ({exc})") from exc
    if summary.get("task") != "overlap":
        raise ResultsError(f"{folder}: task is {summary.get('task')!r}, not 'overlap'")
    labeler = labeler or EmbeddedLabeler()
    labelled = []
    with (folder / LABELS_FILE).open("a") as f:
        for clean, over in pairs(list(store.read_results().values())):
            verdict = labeler.label(case_of(clean, over))
            labelled.append((clean, over, verdict))
            doc = {
                "item_id": over["item_id"],
                **verdict.to_json(),
                "judge_info": labeler.describe(),
            }
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    summary["overlap"] = {"judge": labeler.describe(), **aggregate(labelled)}
    store.write_summary(summary)
    return summary
