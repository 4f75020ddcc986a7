"""What a benchmark is: its options, a run that returns figures, and their table.

Speed and timing targets live in benchmarks, not in timed unit tests: each prints medians of
several runs and the load average (a shared 2-core machine inflates every figure), and
``--json FILE`` keeps the figures for tracking.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duplex.writing import write_json

Figures = dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    """``arguments`` adds the benchmark's options to its parser; ``run`` takes the parsed
    options and returns the figures; ``format`` turns them into the printed table."""

    name: str
    summary: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Figures]
    format: Callable[[Figures], str]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def emit(table: str, figures: Figures, json_path: Path | str | None) -> int:
    """Print ``table``; write ``figures`` to ``json_path`` when given. The command's exit code."""
    print(table)
    if json_path:
        # Through the one writer: atomic, and redacted like every file the harness writes.
        write_json(Path(json_path), figures, what="the figures")
    return 0
