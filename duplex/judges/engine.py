"""Judging many items: cache first, then the backend with bounded concurrency and retries.

Transient failures (:class:`RetryableError`: rate limits, server errors, timeouts) are retried
with exponential backoff, or after the server's ``retry-after`` when it gives one. When the
attempts run out, or on a final :class:`JudgeError`, the item gets a verdict with ``score`` None
and the reason: a failed judgement is recorded as missing, never as a default score.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from duplex.judges.base import Judge, JudgeError, JudgeInput, RetryableError, Verdict
from duplex.judges.cache import VerdictCache, cache_key

_log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failures: ``base * 2**(n-1)``, capped; a server's
    ``retry-after`` replaces it (also capped, so a hostile header cannot stall a run)."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.cap)
        return min(self.base * 2 ** (failures - 1), self.cap)


DEFAULT_BACKOFF = Backoff()


def missing(judge: Judge, reason: str, raw: str = "") -> Verdict:
    return Verdict(
        None,
        reason=reason,
        judge=judge.name,
        model=judge.model,
        prompt_version=judge.prompt_version,
        raw=raw,
    )


class Retried(Protocol):
    """What :func:`with_retries` reads of a judge, labeller or writer."""

    @property
    def name(self) -> str: ...

    @property
    def max_attempts(self) -> int: ...


def with_retries(
    who: Retried,
    call: Callable[[], T],
    fail: Callable[[str], T],
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = time.sleep,
) -> T:
    """``call()``, retried on :class:`RetryableError` (``who.max_attempts`` in all, waiting as
    ``backoff`` says); a final failure, a :class:`JudgeError` or a crash becomes
    ``fail(reason)``: the one retry loop of every API-backed judge, labeller and writer."""
    failures = 0
    while True:
        try:
            return call()
        except RetryableError as exc:
            failures += 1
            if failures >= who.max_attempts:
                return fail(f"gave up after {failures} attempts: {exc}")
            wait = backoff.delay(failures, exc.retry_after)
            _log.info("%s: %s; retrying in %.1f s", who.name, exc, wait)
            sleep(wait)
        except JudgeError as exc:
            return fail(str(exc))
        except Exception as exc:  # the harness boundary: a crashed judge is one missing verdict
            return fail(f"judge crashed: {type(exc).__name__}: {exc}")


def rate_with_retries(
    judge: Judge, item: JudgeInput, *, backoff: Backoff = DEFAULT_BACKOFF, sleep: Sleep = time.sleep
) -> Verdict:
    """One item, retried on transient failures; never raises for a judge failure."""
    return with_retries(
        judge, lambda: judge.rate(item), lambda r: missing(judge, r), backoff=backoff, sleep=sleep
    )


def judge_items(
    judge: Judge,
    items: Sequence[JudgeInput],
    *,
    cache: VerdictCache | None = None,
    concurrency: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Sleep = time.sleep,
) -> list[Verdict]:
    """Verdicts in the order of ``items``; cached ones are not asked again."""
    keys = [
        cache_key(judge.name, judge.model, judge.prompt_version, judge.prompt_sha, i) for i in items
    ]

    def one(index: int) -> Verdict:
        verdict = rate_with_retries(judge, items[index], backoff=backoff, sleep=sleep)
        if cache is not None:
            cache.put(keys[index], verdict)
        return verdict

    cached = [cache.get(k) if cache else None for k in keys]
    return fan_out(cached, one, concurrency, judge.max_concurrency, "judge")


def fan_out(
    cached: Sequence[T | None],
    make: Callable[[int], T],
    concurrency: int | None,
    limit: int,
    name: str,
) -> list[T]:
    """``cached`` with each None replaced by ``make(index)``, made on as many threads as asked
    (``concurrency``, else ``limit``) but never more than the backend's ``limit``: how every
    judging asks a backend for what its cache does not hold."""
    out = list(cached)
    todo = [i for i, v in enumerate(out) if v is None]
    if todo:
        workers = max(1, min(concurrency or limit, limit, len(todo)))
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
            for index, made in zip(todo, pool.map(make, todo), strict=True):
                out[index] = made
    return [v for v in out if v is not None]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


@contextlib.contextmanager
def owned(given: C | None, make: Callable[[], C]) -> Iterator[C]:
    """``given`` if a caller passed one (it stays theirs to close), else one made here and
    closed when the block ends: how a command uses a judge or a cache it may be handed."""
    if given is not None:
        yield given
        return
    made = make()
    try:
        yield made
    finally:
        made.close()
