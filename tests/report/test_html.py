"""`duplex-bench report --html`: a self-contained page, opened in headless Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.report.html import ReportOptions, write_report
from duplex.report.runs import load_run
from tests.report.browser import Chromium, find_chromium, pixel_stats

pytestmark = pytest.mark.slow

USER_BLUE = (0x2F, 0x6B, 0xD8)
MODEL_ORANGE = (0xE0, 0x70, 0x2A)
#: Keep the screenshots where a person can look at them after a run.
SHOTS = Path(os.environ.get("DUPLEX_REPORT_SHOTS", "/tmp/duplex-report-shots"))


@pytest.fixture(scope="module")
def report(report_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    runs = [report_runs["base"], report_runs["worse"]]
    args = ["report", *map(str, runs), "--html", str(out), "--steps", "1000,2000"]
    assert main(args) == 0
    return out


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text()
    # Nothing to fetch: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    assert page.count('<audio controls preload="none" src="data:audio/') == 12  # 6 items x 2
    assert page.count('<svg class="timeline"') == 12
    assert page.count('<svg class="stepplot"') >= 2  # tor_fdb and tor_window against step
    assert report.stat().st_size < 3_000_000


def test_audio_cap_is_applied_and_said(report_runs: dict[str, Path], tmp_path: Path) -> None:
    info = write_report(
        [report_runs["base"]], tmp_path / "r.html", ReportOptions(audio_items=2, audio_seconds=3)
    )
    page = info.path.read_text()
    assert info.clips == 2 and page.count("<audio ") == 2
    assert "first 3 s" in page and "up to 2 items per run, at most 3 s each" in page
    assert "audio not embedded (cap reached)" in page
    assert info.nbytes < 400_000


def test_steps_are_read_from_the_model_spec(report_runs: dict[str, Path]) -> None:
    run = load_run(report_runs["base"])
    run.run_doc["config"]["model"] = "python:my.models:load,ckpt=/ckpts/step_4000"
    assert run.step() == 4000
    run.run_doc["step"] = 12
    assert run.step() == 12


def test_report_without_html_prints_the_leaderboard(
    report_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(report_runs["base"].parent)]) == 0  # a parent of run folders
    out = capsys.readouterr().out
    assert "pause TOR" in out and out.count("oracle:latency=0.6") == 2  # base and rerun rows


def test_report_opens_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with Chromium(binary, tmp_path / "profile") as page:
        page.load(report.as_uri())
        seen = page.evaluate(
            """(() => {
              const box = (el) => { const r = el.getBoundingClientRect();
                return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height}; };
              const tl = document.querySelector('details[open] svg.timeline');
              return {
                title: document.title,
                leaderboardRows: document.querySelectorAll('table.leaderboard tbody tr').length,
                leaderboardCells: document.querySelectorAll('table.leaderboard td .mean').length,
                leaderboard: box(document.querySelector('table.leaderboard')),
                timelines: document.querySelectorAll('svg.timeline').length,
                timeline: tl ? box(tl) : null,
                pauses: tl ? tl.querySelectorAll('rect.pause').length : 0,
                turnEnd: tl ? tl.querySelectorAll('line.turn-end').length : 0,
                plots: document.querySelectorAll('svg.stepplot').length,
              };
            })()"""
        )
        assert seen["leaderboardRows"] == 2 and seen["leaderboardCells"] >= 4
        assert seen["timelines"] == 12 and seen["plots"] >= 2
        lb, tl = seen["leaderboard"], seen["timeline"]
        assert lb["width"] > 600 and lb["height"] > 50 and lb["y"] < 2000  # above the fold
        assert tl is not None and tl["width"] > 600 and tl["height"] > 80 and tl["y"] < 2000
        assert seen["pauses"] >= 1 and seen["turnEnd"] == 1

        # An embedded clip decodes in the browser (metadata: its duration).
        duration = page.evaluate(
            """new Promise((done) => {
              const a = document.querySelector('details[open] audio');
              a.addEventListener('loadedmetadata', () => done(a.duration));
              a.addEventListener('error', () => done(-1));
              setTimeout(() => done(-2), 10000);
              a.preload = 'auto'; a.load();
            })"""
        )
        assert 5.0 < duration < 31.0

        # Clicking the middle of the timeline seeks: the playhead moves.
        page.click(tl["x"] + tl["width"] * 0.6, tl["y"] + tl["height"] * 0.5)
        head = page.evaluate(
            "parseFloat(document.querySelector('details[open] svg.timeline .playhead')"
            ".getAttribute('x1'))"
        )
        assert head > 400

        full = page.screenshot(SHOTS / "report.png")
        clip = page.screenshot(SHOTS / "timeline.png", clip=tl)
        whole = pixel_stats(page, full, [USER_BLUE, MODEL_ORANGE])
        assert whole["width"] == 1280 and whole["std"] > 20  # not a blank page
        lane = pixel_stats(page, clip, [USER_BLUE, MODEL_ORANGE])
        assert lane["near"][0] > 0.01 and lane["near"][1] > 0.002  # both channels drawn
        assert page.problems() == []
        external = [u for u in page.requested_urls() if not u.startswith(("file:", "data:"))]
        assert external == []


def test_probe_runs_get_their_own_table_and_step_plots(tmp_path: Path) -> None:
    from tests.report.test_compare import write_probe_json

    a = write_probe_json(tmp_path / "sweep" / "step-1000", "cascade", s2t_right=8)
    write_probe_json(tmp_path / "sweep" / "step-2000", "cascade", s2t_right=2)
    info = write_report([a.parent], tmp_path / "p.html")
    page = info.path.read_text()
    assert info.runs == 2 and info.items == 0 and "Intelligence probes" in page
    assert "s2t acc" in page and "s2t gap" in page
    assert page.count('<svg class="stepplot"') == 2  # t2t and s2t accuracy against step


def test_audio_falls_back_to_16k_wav_when_opus_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from duplex.report import media

    tone = (0.1 * np.sin(np.arange(24000 * 4) / 5)).astype(np.float32)
    clip = media.encode_clip(tone, max_seconds=2)
    assert clip.mime == "audio/ogg" and clip.truncated and clip.seconds == 2.0
    assert clip.nbytes < 2 * 8000  # Opus: a few kB a second

    def broken(x: object) -> bytes:
        raise RuntimeError("no encoder")

    monkeypatch.setattr(media, "_opus", broken)
    wav = media.encode_clip(tone, max_seconds=2)
    assert wav.mime == "audio/wav" and wav.uri.startswith("data:audio/wav;base64,UklGR")
    assert wav.nbytes == 44 + 2 * 16000 * 2
