"""An overlap run end to end: pairs labelled as part of ``run``, FDB v1.5 sample folders written
(both runs of a pair in one folder) and read back by ``score --fdb`` and ``run --scenario fdb:``,
``judge RUN`` on an overlap run, and the pair figures on hand-made rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from duplex.audio import read_wav
from duplex.cli import main
from duplex.judges.overlap import LabelCase, LabelVerdict
from duplex.metrics import fdb_rules
from duplex.report.fdb import MAP_FILE
from duplex.report.fdb_suite import detect_task
from duplex.report.overlap_pairs import LABELS_FILE, analyse, pairs
from duplex.speech.fdb_vad import timing_segments

RESPOND = "oracle:latency=0.6,length=14,stop=0.3,respond=0.6"
V15_FILES = {
    "input.wav",
    "output.wav",
    "clean_input.wav",
    "clean_output.wav",
    "metadata.json",
    "output.json",
    "clean_output.json",
    "input.json",
    "clean_input.json",
}


def _rows(folder: Path) -> dict[str, dict[str, Any]]:
    lines = (folder / "results.jsonl").read_text().splitlines()
    return {r["item_id"]: r for r in map(json.loads, lines)}


@pytest.mark.slow
def test_an_overlap_run_is_labelled_exported_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUPLEX_BENCH_CACHE", str(tmp_path / "cache"))
    out, export = tmp_path / "run", tmp_path / "export"
    args = ["run", "--scenario", "overlap_interruption", "--model", RESPOND, "--limit", "4"]
    assert main([*args, "--out", str(out), "--export-fdb", str(export), "--no-progress"]) == 0
    assert "labeller smollm2-rules" in capsys.readouterr().err

    # labels, computed by `run`: the oracle responds to every interruption
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["expected_behaviour"]["mean"] == 1.0
    assert summary["metrics"]["label_respond"]["n"] == 2
    assert summary["headline"][0]["key"] == "expected_behaviour"
    judge = summary["judge"]
    assert (judge["name"], judge["prompt_version"]) == ("smollm2-rules", "overlap_rules_v2")
    assert judge["labels"]["respond"] == 2 and len(judge["prompt_sha256"]) == 16
    assert summary["pairs"]["n"] == 2 and "wpm_after" in summary["pairs"]["prosody_shift"]["all"]
    labels = [json.loads(line) for line in (out / LABELS_FILE).read_text().splitlines()]
    assert [(r["item_id"], r["verdict"]["label"]) for r in labels] == [
        ("oi-001", "respond"),
        ("oi-002", "respond"),
    ]
    assert labels[0]["judge"]["prompt_version"] == "overlap_rules_v2"

    # the export: one v1.5 sample folder per pair, at 16 kHz
    assert json.loads((export / MAP_FILE).read_text()) == {
        "overlap": {"1": "oi-001", "2": "oi-002"}
    }
    folder = export / "overlap"
    assert sorted(p.name for p in folder.iterdir()) == ["1", "2"]
    assert {p.name for p in (folder / "1").iterdir()} == V15_FILES
    assert sf.info(str(folder / "1" / "clean_output.wav")).samplerate == 16000
    meta = json.loads((folder / "1" / "metadata.json").read_text())
    rows = _rows(out)
    over = rows["oi-001"]
    assert meta["timestamps"][0] == over["metrics"]["overlap_start_s"]
    assert meta["current_turn_text"] == over["details"]["overlap_text"]
    assert meta["context_text"] == over["details"]["context"] and meta["expect"] == "respond"
    # what get_timing.py computes on the exported files is what the run recorded
    user, ur = read_wav(folder / "1" / "input.wav")
    model, mr = read_wav(folder / "1" / "output.wav")
    recomputed = fdb_rules.timing(timing_segments(user, ur), timing_segments(model, mr))
    assert recomputed == json.loads(over["details"]["fdb_latency_intervals"])

    # score --fdb reads both runs of each sample, with the same FDB figures
    assert detect_task(folder).name == "overlap"
    scored = tmp_path / "scored.json"
    assert main(["score", "--fdb", str(folder), "--task", "overlap", "--json", str(scored)]) == 0
    again = {r["item_id"]: r for r in json.loads(scored.read_text())["rows"]}
    assert sorted(again) == ["1", "1.clean", "2", "2.clean"]
    for sample, item in (("1", "oi-001"), ("2", "oi-002")):
        for key in ("stop_latency_fdb_s", "response_latency_fdb_s"):
            assert again[sample]["metrics"][key] == rows[item]["metrics"][key], key
        assert again[sample + ".clean"]["metrics"]["clean"] == 1
        assert again[sample]["details"]["expect"] == "respond"

    # judge RUN relabels; --judge none keeps only the prosody shifts
    assert main(["judge", str(out)]) == 0
    assert len((out / LABELS_FILE).read_text().splitlines()) == 4
    assert main(["judge", str(out), "--judge", "none"]) == 0
    assert "no labels" in capsys.readouterr().out

    # run --scenario fdb: runs both inputs of each sample as a pair of the overlap task
    fdb_out = tmp_path / "fdb-run"
    assert (
        main(
            [
                "run",
                "--scenario",
                f"fdb:{folder}",
                "--model",
                "silent",
                "--out",
                str(fdb_out),
                "--no-progress",
            ]
        )
        == 0
    )
    fdb_summary = json.loads((fdb_out / "summary.json").read_text())
    assert fdb_summary["task"] == "overlap" and fdb_summary["pairs"]["n"] == 2
    assert fdb_summary["judge"]["labels"]["unknown"] == 2  # a silent model says nothing


def _row(item_id: str, label_words: str, expect: str = "resume") -> dict[str, Any]:
    words = [[1.0 + 0.3 * i, 1.2 + 0.3 * i, w] for i, w in enumerate(label_words.split())]
    clean = item_id.endswith(".clean")
    prefix = "clean_" if clean else ""
    return {
        "item_id": item_id,
        "status": "ok",
        "metrics": {
            "overlap_start_s": 2.0,
            "overlap_end_s": 2.5,
            prefix + "wpm_after": 150.0 if clean else 160.0,
        },
        "details": {
            "variant": "clean" if clean else "overlapped",
            "expect": expect,
            "context": "Tell me.",
            "overlap_text": "Mm-hmm.",
            "talker": "user",
            "words": json.dumps(words),
        },
    }


class _Fixed:
    """A labeller answering from a table (the pair step, not the labeller, is under test)."""

    name, model, prompt_version, prompt_sha = "fixed", "table", "t1", "0" * 16
    max_concurrency, max_attempts, cacheable = 1, 1, False

    def __init__(self, table: dict[str, str | None]) -> None:
        self.table = table

    def label(self, case: LabelCase) -> LabelVerdict:
        got = self.table[case.item_id]
        return LabelVerdict(got, "table", self.name, self.model, self.prompt_version)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "prompt_version": self.prompt_version}

    def close(self) -> None:
        pass


def test_pairs_need_both_runs_ok_and_figures_count_labels() -> None:
    text = "a b c d e f g"
    rows = [
        _row("a.clean", text),
        _row("a", text),
        _row("b.clean", text),
        _row("b", text, expect="respond"),
        _row("c", text),  # its clean run is missing
        {**_row("d.clean", text), "status": "failed"},
        _row("d", text),
    ]
    assert [p.item_id for p in pairs(rows)] == ["a", "b"]
    result = analyse(rows, _Fixed({"a": "resume", "b": "resume"}))
    assert result.metrics["expected_behaviour"]["mean"] == 0.5  # b expected respond
    assert result.metrics["label_resume"]["mean"] == 1.0
    assert result.metrics["label_respond"]["mean"] == 0.0
    assert result.judge is not None and result.judge["labels"]["resume"] == 2
    shift = result.pairs["prosody_shift"]["all"]["wpm_after"]
    assert shift["n"] == 2 and shift["mean_diff"] == 10.0
    assert result.pairs["prosody_shift"]["respond"]["wpm_after"]["n"] == 0
    # a missing label is counted and listed, never guessed
    missing = analyse(rows, _Fixed({"a": None, "b": "respond"}))
    assert missing.judge is not None and missing.judge["items"]["missing"] == 1
    assert missing.metrics["expected_behaviour"]["n"] == 1
    # without a labeller only the prosody shifts
    bare = analyse(rows, None)
    assert bare.judge is None and bare.metrics == {} and bare.pairs["n"] == 2
