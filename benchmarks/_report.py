"""What every benchmark script does with its figures: print the table, optionally keep the JSON."""

from __future__ import annotations

import json
from typing import Any


def emit(table: str, figures: dict[str, Any], json_path: str | None) -> int:
    """Print ``table``; write ``figures`` to ``json_path`` when given. The script's exit code."""
    print(table)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0
