"""Real runs shared by the report tests: lock-step oracle instruments on a few pause items.

The oracle speaks a fixed ``latency`` after the user's turn end, so a candidate with latency 0.9
answers exactly 0.3 s later than a base with 0.6 on every item: a regression by construction.
Six items is the fewest with which a paired sign-flip test can reach p < 0.05 (2 / 2**6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from duplex.runner import RunConfig, run_suite

ITEMS = 6


def _run(root: Path, name: str, model: str) -> Path:
    out = root / name
    run_suite(RunConfig(suite="pause_handling", model=model, limit=ITEMS, out=out))
    return out


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report-runs")
    return {
        "base": _run(root, "base", "oracle:latency=0.6"),
        "rerun": _run(root, "rerun", "oracle:latency=0.6"),
        "worse": _run(root, "worse", "oracle:latency=0.9"),
    }
