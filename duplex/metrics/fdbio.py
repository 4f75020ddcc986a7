"""Reading and writing the small JSON files of Full-Duplex-Bench sample folders.

Shared by the tasks' FDB formats (each task's module reads and writes its own annotation file
with these); every error names the file and the field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from duplex.errors import ScenarioError

#: Decimals of times written to FDB files: a microsecond is far below a sample at 24 kHz
#: (41.7 us), so a round trip lands on the same sample.
TIME_DECIMALS = 6


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not readable JSON ({exc})") from exc


def write_json(path: Path, doc: Any) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)


def number(x: Any, path: Path, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ScenarioError(f"{path}: {field} must be a finite number, got {x!r}")
    return float(x)


def span(entry: Any, path: Path, field: str) -> tuple[float, float]:
    if not isinstance(entry, list | tuple) or len(entry) < 2:
        raise ScenarioError(f"{path}: {field} must be a list [start, end], got {entry!r}")
    a, b = number(entry[0], path, f"{field}[0]"), number(entry[1], path, f"{field}[1]")
    if b < a:
        raise ScenarioError(f"{path}: {field} ends before it starts ({a} > {b})")
    return a, b


def entries(doc: Any, path: Path, *, at_least: int = 1) -> list[dict[str, Any]]:
    if not isinstance(doc, list) or len(doc) < at_least:
        raise ScenarioError(f"{path}: expected a list of at least {at_least} object(s)")
    for i, e in enumerate(doc):
        if not isinstance(e, dict):
            raise ScenarioError(f"{path}: entry [{i}] must be an object, got {e!r}")
    return doc


def text(d: dict[str, Any], key: str, path: Path, field: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise ScenarioError(f"{path}: {field} must be a string, got {v!r}")
    return v


def numbers(values: Any, path: Path, field: str) -> list[float]:
    """A non-empty list of finite numbers."""
    if not isinstance(values, list) or not values:
        raise ScenarioError(f"{path}: {field} must be a non-empty list of numbers")
    return [number(v, path, f"{field}[{i}]") for i, v in enumerate(values)]


def t(x: float) -> float:
    """A time as written to FDB files."""
    return round(float(x), TIME_DECIMALS)
