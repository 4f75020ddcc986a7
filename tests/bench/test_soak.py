"""The reliability campaign, short: `duplex-bench bench soak --sessions 20 --fuzz 1000`.

The full campaign (120 sessions, 10,000 fuzz messages) is a benchmark; this runs every part of it
(every fault of every side, a fuzz, runs killed with SIGKILL and resumed, a judged run, planted
secrets) small enough for CI.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from duplex.bench.soak import Planted, _plan, _scan
from duplex.bench.soak_serve import fuzz_message
from duplex.bench.soak_sessions import SERVE_FAULTS
from duplex.cli import main
from duplex.protocols import moshi


def test_the_scan_finds_a_secret_in_every_form_it_travels_in(tmp_path: Path) -> None:
    planted = Planted.draw(1)
    basic = base64.b64encode(f"soak:{planted.url_password}".encode()).decode()
    (tmp_path / "a.json").write_text(f'{{"reason": "Bearer {planted.judge_key}"}}')
    (tmp_path / "b.log").write_text(f"GET /?t={urllib.parse.quote(planted.serve_token)}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text(f"Authorization: Basic {basic}")
    (tmp_path / "clean.txt").write_text("token=*** api_key=***")
    scan = _scan([tmp_path], planted)
    assert scan["found"] == 3 and scan["files"] == 4


def test_every_fault_of_every_side_is_planned_once_before_any_repeats() -> None:
    plan = _plan(3, 45)
    assert {f for side, f, _ in plan if side == "serve"} == set(SERVE_FAULTS)
    assert len(plan) == 45 and _plan(3, 45) == plan  # seeded


def test_the_fuzz_oracle_agrees_with_the_codec() -> None:
    # What the fuzz expects of a message is what the protocol module says (server side).
    rng = np.random.default_rng(0)
    for _ in range(3000):
        message, expect = fuzz_message(rng)
        if expect == "too_big" or message == b"audio" or isinstance(message, str):
            continue
        if message[:1] == b"\x01":
            continue  # garbage audio fails in the Ogg reader, once a page header is read
        try:
            moshi.MoshiStream(client=False).receive(message)
            verdict = "ok"
        except Exception:
            verdict = "error"
        assert verdict == expect, (message[:12], expect)


@pytest.mark.slow
def test_the_short_campaign_finds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, figures = tmp_path / "soak", tmp_path / "soak.json"
    words = ["bench", "soak", "--sessions", "20", "--fuzz", "1000", "--items", "2"]
    assert main([*words, "--out", str(out), "--json", str(figures)]) == 0
    f = json.loads(figures.read_text())
    printed = capsys.readouterr().out
    assert "verdict               PASS" in printed, printed
    assert f["crashes"] == f["hangs"] == f["unexpected"] == f["items_lost"] == 0, printed
    assert f["secrets"]["found"] == 0 and f["failures_without_reason"] == 0
    assert f["sessions"]["total"] >= 20 and f["faults_injected"]["total"] >= 10
    assert f["fuzz"]["messages"] == 1000 and f["fuzz"]["errors_answered"] > 50
    assert f["server_rss_mb"]["growth_pct"] <= 10
    killed = {r["name"]: r["killed_after_rows"] for r in f["runs"]}
    assert killed["moshi+ws"] and killed["realtime+ws"]  # SIGKILLed mid-suite, then resumed
    # The planted keys did reach the writers (and were masked there): the scan could fail.
    assert "Bearer ***" in (out / "judged" / "judgements.jsonl").read_text()
    assert "Authorization: Basic ***" in (out / "moshi+ws-echo" / "results.jsonl").read_text()
    assert "api_key=***" in (out / "realtime+ws-echo" / "results.jsonl").read_text()
    assert not list(out.rglob(".*.tmp"))  # what the kills left mid-write was swept on resume
