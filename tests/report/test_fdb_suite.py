"""Full-Duplex-Bench's data run as a suite (``run --scenario fdb:PATH``), and our exports in the
layout its scripts read: folders built here in the anchor's layout (no FDB data ships)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from duplex.audio import resample
from duplex.cli import main
from duplex.errors import ScenarioError
from duplex.report.fdb import MAP_FILE
from duplex.report.fdb_suite import FdbSuite, detect_task
from tests.speech.speechdata import RATE, place, say

RATE16 = 16000


def _wav(path: Path, x: np.ndarray, rate: int = RATE16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), resample(x, RATE, rate) if rate != RATE else x, rate, subtype="PCM_16")


def turn_taking_folder(root: Path, n: int = 3) -> Path:
    """The anchor's turn-taking layout: ``N/input.wav`` (16 kHz) and ``N/turn_taking.json``."""
    questions = [
        "What is the tallest mountain in Europe?",
        "How far is the moon from the earth?",
        "Why is the sky blue during the day?",
    ]
    for i, text in enumerate(questions[:n], start=1):
        speech = say(text)
        x = place([(0.5, speech)], 0.5 + speech.size / RATE + 5.0)
        _wav(root / str(i) / "input.wav", x)
        end = 0.5 + speech.size / RATE
        doc = [{"text": "[TURN-TAKING]", "timestamp": [end, x.size / RATE]}]
        (root / str(i) / "turn_taking.json").write_text(json.dumps(doc))
    return root


def test_the_task_is_told_by_the_files(tmp_path: Path) -> None:
    tt = turn_taking_folder(tmp_path / "tt", n=1)
    assert detect_task(tt).name == "turn_taking"
    ph = tmp_path / "ph" / "1"
    _wav(ph / "input.wav", np.zeros(RATE, np.float32))
    (ph / "pause.json").write_text(json.dumps([{"text": "[PAUSE]", "timestamp": [0.2, 0.6]}]))
    assert detect_task(ph.parent).name == "pause_handling"
    v15 = tmp_path / "v15" / "1"
    _wav(v15 / "input.wav", np.zeros(RATE, np.float32))
    _wav(v15 / "clean_input.wav", np.zeros(RATE, np.float32))
    meta = {"timestamps": [0.2, 0.6], "context_text": "a", "current_turn_text": "b"}
    (v15 / "metadata.json").write_text(json.dumps(meta))
    assert detect_task(v15.parent).name == "overlap"  # metadata.json is the overlap task's
    suite = FdbSuite(v15.parent)
    assert suite.item_ids() == ["1", "1.clean"]  # both inputs are run
    assert suite.render("1.clean").provenance["input"] == "clean_input.wav"
    bare = tmp_path / "bare" / "1"
    _wav(bare / "input.wav", np.zeros(RATE, np.float32))
    with pytest.raises(ScenarioError, match="give --task"):
        detect_task(bare.parent)


def test_an_fdb_folder_runs_and_its_export_scores_the_same(tmp_path: Path) -> None:
    data = turn_taking_folder(tmp_path / "candor_turn_taking")
    out, export = tmp_path / "run", tmp_path / "export"
    args = ["run", "--scenario", f"fdb:{data}", "--model", "oracle:latency=0.5", "--no-progress"]
    assert main([*args, "--out", str(out), "--export-fdb", str(export)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["source"] == "fdb" and run["config"]["suite"] == "fdb:candor_turn_taking"
    assert run["config"]["task"] == "turn_taking"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in rows] == ["1", "2", "3"]
    # the oracle answers 0.5 s after the turn end the anchor's file gives
    for r in rows:
        assert r["metrics"]["tor_fdb"] == 1
        assert r["metrics"]["latency_vad_s"] == pytest.approx(0.5, abs=0.03)

    # the export, in the layout the anchor's scripts read, scores to the same FDB figures
    assert json.loads((export / MAP_FILE).read_text()) == {
        "turn_taking": {"1": "1", "2": "2", "3": "3"}
    }
    info = sf.info(str(export / "turn_taking" / "1" / "output.wav"))
    assert (info.samplerate, info.subtype) == (RATE16, "PCM_16")
    scored = tmp_path / "scored.json"
    args = ["score", "--fdb", str(export / "turn_taking"), "--task", "turn_taking"]
    assert main([*args, "--json", str(scored)]) == 0
    again = {r["item_id"]: r["metrics"] for r in json.loads(scored.read_text())["rows"]}
    for r in rows:
        for key in ("tor_fdb", "latency_fdb_s"):
            assert again[r["item_id"]][key] == pytest.approx(r["metrics"][key], abs=1e-6), key


def test_a_backchannel_export_is_what_the_anchors_script_reads(tmp_path: Path) -> None:
    out, export = tmp_path / "run", tmp_path / "export"
    args = ["run", "--scenario", "backchannel", "--model", "oracle:mode=backchannel"]
    assert main([*args, "--limit", "2", "--out", str(out), "--export-fdb", str(export)]) == 0
    folder = export / "backchannel"
    # digit names (its script skips others); the ground truth beside them, without exact zeros
    assert sorted(p.name for p in folder.iterdir()) == ["1", "2", "icc_gt_distribution.json"]
    gt = json.loads((folder / "icc_gt_distribution.json").read_text())
    for name in ("1", "2"):
        x, rate = sf.read(str(folder / name / "output.wav"))
        assert rate == RATE16 and len(gt[name]) == int(x.size / rate / 0.2) + 1
        assert min(gt[name]) > 0 and sum(gt[name]) == pytest.approx(1.0)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    scored = tmp_path / "scored.json"
    assert (
        main(["score", "--fdb", str(folder), "--task", "backchannel", "--json", str(scored)]) == 0
    )
    again = {r["item_id"]: r["metrics"] for r in json.loads(scored.read_text())["rows"]}
    for i, r in enumerate(rows, start=1):
        for key in ("tor_fdb", "frequency_fdb", "jsd_fdb"):
            assert again[str(i)][key] == pytest.approx(r["metrics"][key], abs=1e-9), key


def test_a_served_or_live_oracle_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--model", "oracle:latency=0.5", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "reads each item's annotations" in err and "served session has none" in err
