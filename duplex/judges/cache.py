"""Persistent cache of verdicts: ``$DUPLEX_BENCH_CACHE/judges/verdicts.sqlite``.

The key is a hash of the judge name, its model, the prompt version and the prompt file's own hash
(an edited prompt that kept its version must not reuse old verdicts), and the inputs. Only
verdicts with a score are stored: a missing score (an API outage, an answer without a rating) is
worth asking again next time, while a score is what makes a re-run identical and free.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from duplex.cache import cache_dir
from duplex.judges.base import JudgeInput, Verdict

_SCHEMA = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL)"


def cache_key(
    judge: str, model: str, prompt_version: str, prompt_sha: str, item: JudgeInput
) -> str:
    doc = [judge, model, prompt_version, prompt_sha, item.key()]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


class VerdictCache:
    """A small thread-safe sqlite store; ``path`` None gives an in-memory cache (tests)."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            target = ":memory:"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = str(path)
        self.path = path
        self._lock = threading.Lock()
        # One connection shared by the worker threads, serialised by the lock.
        self._db = sqlite3.connect(target, check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    @classmethod
    def default(cls) -> VerdictCache:
        return cls(cache_dir("judges") / "verdicts.sqlite")

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            row = self._db.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        return None if row is None else Verdict.from_json(json.loads(row[0]), cached=True)

    def put(self, key: str, verdict: Verdict) -> None:
        if verdict.score is None:
            return
        doc = json.dumps(verdict.to_json(), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", (key, doc))

    def close(self) -> None:
        with self._lock:
            self._db.close()
