"""Persistent cache of verdicts: ``$DUPLEX_BENCH_CACHE/judges/verdicts.sqlite``.

The key is a hash of the judge name, its model, the prompt version and the prompt file's own hash
(an edited prompt that kept its version must not reuse old verdicts), and the inputs. Only
verdicts with a score are stored: a missing score (an API outage, an answer without a rating) is
worth asking again next time, while a score is what makes a re-run identical and free.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from duplex.cache import KeyedStore, cache_dir
from duplex.judges.base import JudgeInput, Verdict


def cache_key(
    judge: str, model: str, prompt_version: str, prompt_sha: str, item: JudgeInput
) -> str:
    doc = [judge, model, prompt_version, prompt_sha, item.key()]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


class VerdictCache(KeyedStore):
    """A small thread-safe sqlite store; ``path`` None gives an in-memory cache (tests)."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path, "verdicts", "verdict")

    @classmethod
    def default(cls) -> VerdictCache:
        return cls(cache_dir("judges") / "verdicts.sqlite")

    def get(self, key: str) -> Verdict | None:
        text = self.read(key)
        return None if text is None else Verdict.from_json(json.loads(text), cached=True)

    def put(self, key: str, verdict: Verdict) -> None:
        if verdict.score is None:
            return
        self.write(key, json.dumps(verdict.to_json(), ensure_ascii=False))
