"""``duplex-bench rubric RUN``: absolute scores per item, stored beside the run, gated by compare.

Scores (0-5, higher is better), after MTalk-Bench's rubric scoring, on the dimensions our scenarios
carry:

- ``rubric_content`` (semantic): the judge's score of what the response says, given the user's
  turn. API judges answer the rubric prompt (``prompts/rubric_<NAME>.txt``); the embedded judge
  maps its likelihood quality to the scale (:mod:`duplex.arena.embedded`). No response: 0.
- ``rubric_delivery`` (paralinguistic: timing, speaking rate, pauses): measured, not asked -
  the same rule for every judge, because the features are measurements and a rule reads them
  more reliably than a language model. From 5: latency over 1 s -1, over 2 s -2, over 3 s -3;
  rate outside 110-210 words/min -1, outside 80-260 -2; a gap over 1 s between the response's
  utterances -1; at least 1 when the model answered, 0 when it did not.
- ``rubric_item``: the mean of the item's own criteria (``rubric:`` in the suite YAML: semantic,
  paralinguistic, ambient), for items that have them. API judges score every criterion; the
  embedded judge scores semantic criteria through their ``keywords`` only (5 when the response has
  one of them, 1 when not, 0 without a response) and reports the others as missing.
- ``rubric_overall``: the mean of the item's available scores above.

Each figure gets a bootstrap interval over items (:func:`duplex.metrics.stats.summarize`).
Results go to ``RUN/rubric.json`` (rewritten on every scoring);
:func:`duplex.arena.stored.merge_rubric` adds them
to a loaded run - rows, summary, directions, and the judge under ``run_doc["rubric"]`` so that
:mod:`duplex.report.compare` refuses to compare scores from two different judges - which is how
``compare``, ``report`` and the HTML see them like any other metric.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duplex.arena.judging import (
    DEFAULT_ARENA_JUDGE,
    ArenaJudge,
    BattleCache,
    RubricInput,
    RubricVerdict,
    judge_many,
    load_arena_judge,
    with_retries,
)
from duplex.arena.remote import load_arena_prompt
from duplex.arena.responses import Response
from duplex.errors import ConfigError, DuplexError
from duplex.judges.engine import owned
from duplex.metrics.stats import summarize
from duplex.report.arena_responses import read_item
from duplex.report.rubric_store import FILE, FORMAT, KEYS, VERSION
from duplex.report.runs import RunData, load_run
from duplex.writing import write_json

DEFAULT_RUBRIC = "general_v1"


def delivery_score(r: Response) -> int:
    """The paralinguistic score by rule (module doc)."""
    f = r.features
    if r.empty:
        return 0
    score = 5
    if f.latency_s is not None:
        score -= sum(f.latency_s > t for t in (1.0, 2.0, 3.0))
    if f.rate_wpm is not None:
        score -= (not 110 <= f.rate_wpm <= 210) + (not 80 <= f.rate_wpm <= 260)
    gaps = [b[0] - a[1] for a, b in zip(r.utterances, r.utterances[1:], strict=False)]
    score -= any(g > 1.0 for g in gaps)
    return max(1, score)


@dataclass(frozen=True)
class ItemScores:
    item_id: str
    metrics: dict[str, float | None]
    verdict: RubricVerdict
    criteria: tuple[tuple[str, str], ...]
    response: Response


def _suite_rubrics(run: RunData) -> dict[str, Any]:
    """Item id -> its rubric from the suite file, if the suite still has this version."""
    from duplex.scenarios import load_suite

    try:
        suite = load_suite(run.suite)
    except DuplexError:
        return {}
    if suite.version != str(run.config.get("suite_version")):
        return {}
    return {i.id: i.rubric for i in suite.spec.items}


def _metrics(v: RubricVerdict, r: Response) -> dict[str, float | None]:
    content = 0 if r.empty else v.content
    delivery = delivery_score(r)
    scored = [s for s in v.criteria if s is not None]
    item = round(sum(scored) / len(scored), 4) if scored else None
    parts = [x for x in (content, delivery, item) if x is not None]
    overall = round(sum(parts) / len(parts), 4) if content is not None else None
    return {
        "rubric_content": content,
        "rubric_delivery": delivery,
        "rubric_item": item,
        "rubric_overall": overall,
    }


def score_run(
    run: RunData, judge: ArenaJudge, rubric: str, *, cache: BattleCache | None
) -> list[ItemScores]:
    prompt = load_arena_prompt(f"rubric_{rubric}", "text")
    rubrics = _suite_rubrics(run)
    ids = sorted(run.ok_rows())
    inputs: list[RubricInput] = []
    for item_id in ids:
        item = read_item(run, item_id)
        spec = rubrics.get(item_id)
        inputs.append(
            RubricInput(
                item.turn,
                item.response,
                rubric,
                prompt.sha256,
                spec.criteria if spec else (),
                spec.keywords if spec else (),
            )
        )

    def run_one(i: int) -> RubricVerdict:
        def fail(why: str) -> RubricVerdict:
            return RubricVerdict(None, (), why, judge.name, judge.model, rubric)

        return with_retries(judge, lambda: judge.score(inputs[i]), fail)

    verdicts = judge_many(
        judge,
        "rubric",
        [x.key() for x in inputs],
        run_one,
        encode=lambda v: None if v.failed else v.to_json(),
        decode=lambda d: RubricVerdict.from_json(d, cached=True),
        cache=cache,
    )
    return [
        ItemScores(
            i,
            _metrics(v, x.response) if not v.failed else dict.fromkeys(KEYS),
            v,
            x.criteria,
            x.response,
        )
        for i, v, x in zip(ids, verdicts, inputs, strict=True)
    ]


def rubric_run(
    run_dir: Path | str,
    judge_spec: str = DEFAULT_ARENA_JUDGE,
    rubric: str = DEFAULT_RUBRIC,
    *,
    judge: ArenaJudge | None = None,
    cache: BattleCache | None = None,
) -> dict[str, Any]:
    """Score every scored item of a run and write ``RUN/rubric.json``; returns the document."""
    run = load_run(run_dir)
    if run.kind != "suite":
        raise ConfigError(f"{run.folder}: rubric scores need a suite run, not a {run.kind} run")
    with (
        owned(judge, lambda: load_arena_judge(judge_spec)) as j,
        owned(cache, BattleCache.default) as c,
    ):
        scores = score_run(run, j, rubric, cache=c)
        describe = j.describe()
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rubric": rubric,
        "judge": describe,
        "summary": summarize([s.metrics for s in scores], KEYS),
        "items": {
            s.item_id: {
                "metrics": s.metrics,
                "criteria": [{"dimension": d, "text": t} for d, t in s.criteria],
                "verdict": s.verdict.to_json(),
                "cached": s.verdict.cached,
                "response": s.response.to_json(),
            }
            for s in scores
        },
        "missing": [
            {"item_id": s.item_id, "reason": s.verdict.reason} for s in scores if s.verdict.failed
        ],
    }
    path = run.folder / FILE
    write_json(path, doc, what="the rubric scores")
    return doc


def format_rubric(doc: dict[str, Any]) -> str:
    j = doc["judge"]
    lines = [
        f"rubric {doc['rubric']}: judge {j.get('spec')} (model {j.get('model')}, "
        f"prompt {j.get('prompt_version')})"
    ]
    for key in KEYS:
        m = doc["summary"].get(key) or {}
        if m.get("mean") is None:
            lines.append(f"  {key:<18} -  (n=0)")
        else:
            lines.append(
                f"  {key:<18} {m['mean']:.2f}  [{m['ci_low']:.2f}, {m['ci_high']:.2f}]  n={m['n']}"
            )
    cached = sum(bool(e.get("cached")) for e in doc["items"].values())
    lines.append(
        f"  items: {len(doc['items'])} scored ({cached} from cache), {len(doc['missing'])} missing"
    )
    lines += [f"  missing {m['item_id']}: {m['reason']}" for m in doc["missing"]]
    return "\n".join(lines)
