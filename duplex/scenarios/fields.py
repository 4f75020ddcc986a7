"""Field validation for suite files: values checked one by one, with errors that name the file,
the item and the field (``x.yaml: item 'ph-007': script[3].pause: ...``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from duplex.errors import ScenarioError


class Where:
    """Builds error messages that name file, item and field."""

    def __init__(self, path: Path, item: str | None = None) -> None:
        self.path = path
        self.item = item

    def error(self, field: str, message: str) -> ScenarioError:
        parts = [self.path.name, self.item or "", field, message]
        return ScenarioError(": ".join(p for p in parts if p))


def describe(value: object) -> str:
    return "nothing" if value is None else repr(value)


def check_keys(raw: Mapping[str, Any], allowed: set[str], where: Where, prefix: str) -> None:
    for key in raw:
        if key not in allowed:
            name = f"{prefix}.{key}" if prefix else str(key)
            raise where.error(name, f"unknown field (allowed: {', '.join(sorted(allowed))})")


def mapping(value: object, where: Where, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(field, f"expected a mapping, got {describe(value)}")
    return value


def string(value: object, where: Where, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(field, f"expected a non-empty string, got {describe(value)}")
    return value.strip()


def number(value: object, where: Where, field: str, bounds: tuple[float, float]) -> float:
    # bool is an int in Python; "pause: yes" is a typo, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(field, f"expected a number, got {describe(value)}")
    low, high = bounds
    if not low <= float(value) <= high:
        raise where.error(field, f"{value} is out of range [{low}, {high}]")
    return float(value)


def integer(value: object, where: Where, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(field, f"expected an integer, got {describe(value)}")
    return value


def boolean(value: object, where: Where, field: str) -> bool:
    if not isinstance(value, bool):
        raise where.error(field, f"expected true or false, got {describe(value)}")
    return value


def strings(value: object, where: Where, field: str) -> tuple[str, ...]:
    """A non-empty list of non-empty strings (numbers are taken as written: ``[12]`` is "12")."""
    if not isinstance(value, list) or not value:
        raise where.error(field, f"expected a non-empty list of words, got {describe(value)}")
    out = []
    for i, v in enumerate(value):
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(v)
        out.append(string(v, where, f"{field}[{i}]"))
    return tuple(out)
