"""A small generic registry: models, scenario suites, speech backends and judges register by name.

Entries may be lazy (``"duplex.models.instruments:make_silent"``) so that an optional dependency is
imported only when its entry is used. A miss raises :class:`UnknownNameError` naming the closest
names.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from duplex.errors import ConfigError, UnknownNameError

T = TypeVar("T")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` naming up to three close choices, or "" if none is."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    summary: str
    target: T | str  # the object, or "module:attribute" to import on first use


class Registry(Generic[T]):
    """Name -> object, with lazy imports, duplicate detection and "did you mean" errors."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, target: T | str, summary: str = "") -> None:
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, summary, target)

    def register(self, name: str, summary: str = "") -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(obj: T) -> T:
            self.add(name, obj, summary)
            return obj

        return deco

    def remove(self, name: str) -> None:
        """Forget an entry (a plug-in unloading, a test that registered one of its own)."""
        if name not in self._entries:
            raise UnknownNameError(self.miss_message(name))
        del self._entries[name]

    def get(self, name: str) -> T:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(self.miss_message(name))
        if isinstance(entry.target, str):
            module_name, _, attr = entry.target.partition(":")
            obj = getattr(importlib.import_module(module_name), attr)
            entry = Entry(entry.name, entry.summary, cast(T, obj))
            self._entries[name] = entry
        return cast(T, entry.target)

    def miss_message(self, name: str, kind: str | None = None) -> str:
        hint = did_you_mean(name, self._entries)
        available = ", ".join(sorted(self._entries))
        return f"unknown {kind or self.kind} {name!r}{hint} (available: {available})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        return sorted(self._entries)
