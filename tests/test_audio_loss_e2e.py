"""A run whose model audio was mostly dropped says so (issue 20, defect 10).

A server that sends 30 s of audio in 1 s (far faster than real time) has almost all of it dropped
as stale by the ``moshi+ws`` client's jitter buffer; scored, the item looks like a silent model.
Every result row carries how much model audio was offered and dropped, and the summary and its
table warn about items that lost most of it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from duplex.report.table import format_summary
from duplex.runner import RunConfig, run_suite
from tests.models.transports.fake_moshi import Faults, fake_moshi

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, model: str, clock: str) -> tuple[dict[str, object], str]:
    config = RunConfig("turn_taking", model=model, clock=clock, limit=1, out=tmp_path / clock)
    result = run_suite(config)
    [line] = (result.folder / "results.jsonl").read_text().splitlines()
    row = json.loads(line)
    assert row["status"] == "ok", row
    return row["timings"], format_summary(result.summary)


def test_a_burst_dropped_as_stale_is_reported(tmp_path: Path) -> None:
    def run_against_burst() -> tuple[dict[str, object], str]:
        box: dict[str, object] = {}

        async def go() -> None:
            async with fake_moshi(Faults(burst_at=5, burst_s=30.0, burst_over_s=1.0)) as url:
                loop = asyncio.get_running_loop()
                box["out"] = await loop.run_in_executor(None, _run, tmp_path, url, "realtime")

        asyncio.run(go())
        return box["out"]  # type: ignore[return-value]

    timings, table = run_against_burst()
    offered, dropped = timings["model_audio_offered_s"], timings["model_audio_dropped_s"]
    assert isinstance(offered, float) and isinstance(dropped, float)
    assert offered > 30.0 and dropped > 28.0  # the burst, and the frame-by-frame answers
    assert timings["model_audio_dropped_frac"] == pytest.approx(dropped / offered, abs=1e-3)
    assert "1 item lost most of the model's audio" in table and "tt-001" in table


def test_a_lockstep_run_offers_everything_and_drops_nothing(tmp_path: Path) -> None:
    timings, table = _run(tmp_path, "oracle", "lockstep")
    assert timings["model_audio_offered_s"] > 0
    assert timings["model_audio_dropped_s"] == 0 and timings["model_audio_dropped_frac"] == 0
    assert "lost" not in table
