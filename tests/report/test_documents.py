"""Typed run documents: the shipped JSON Schemas match the code, every document we write
(``run``, ``score --fdb``, ``live``, ``judge``) validates against them, and old run folders load
(or fail naming their version)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from duplex.cli import main
from duplex.errors import ResultsError
from duplex.report.documents import FORMAT, schemas
from duplex.report.runs import load_run

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_run_folder(folder: Path) -> None:
    """Every document of a run folder against the shipped schemas."""
    _validator("run").validate(json.loads((folder / "run.json").read_text()))
    _validator("summary").validate(json.loads((folder / "summary.json").read_text()))
    rows = (folder / "results.jsonl").read_text().splitlines()
    assert rows
    for line in rows:
        _validator("result-row").validate(json.loads(line))


def test_shipped_schemas_are_the_code_s() -> None:
    # Regenerate with: python -c "from duplex.report.documents import write_schemas;
    # from pathlib import Path; write_schemas(Path('docs/schema'))"
    for name, schema in schemas().items():
        shipped = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert shipped == json.loads(json.dumps(schema)), f"docs/schema/{name} is stale"


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    out = root / "run"
    args = ["run", "--scenario", "pause_handling", "--model", "oracle:latency=0.6"]
    args += ["--limit", "2", "--out", str(out), "--export-fdb", str(root / "fdb"), "--no-progress"]
    assert main(args) == 0
    return out


def test_a_suite_run_writes_valid_documents(suite_run: Path) -> None:
    check_run_folder(suite_run)
    run = json.loads((suite_run / "run.json").read_text())
    assert run["format"] == FORMAT and run["config"]["task"] == "pause_handling"


def test_an_fdb_score_writes_valid_documents(suite_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "score.json"
    fdb = suite_run.parent / "fdb" / "pause_handling"
    assert main(["score", "--fdb", str(fdb), "--task", "pause_handling", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    _validator("summary").validate(doc["summary"])
    assert len(doc["rows"]) == 2
    for row in doc["rows"]:
        _validator("result-row").validate(row)


def test_a_live_run_writes_valid_documents(tmp_path: Path) -> None:
    from duplex.live.devices import FakeClockedIO
    from duplex.live.run import LiveRunConfig, write_live_run
    from duplex.live.session import LiveOptions, run_live
    from duplex.models.registry import load_model
    from duplex.models.voice import utterance

    rate = 24000
    speech = utterance(1.5, rate, "What time is it?")
    mic = np.concatenate([np.zeros(rate // 2, np.float32), speech, np.zeros(2 * rate, np.float32)])
    model = load_model("scripted:latency=0.6,silence=0.4")
    result = asyncio.run(
        run_live(
            model,
            FakeClockedIO(mic, rate, speed=4.0),
            LiveOptions(duration_s=3.0),
            folder=tmp_path / "rec",
            status_out=None,
        )
    )
    config = LiveRunConfig(model=model.spec, out=tmp_path / "run", asr=None)
    write_live_run(result, config, model.describe(), "live-docs")
    check_run_folder(tmp_path / "run")


def test_a_judged_run_keeps_valid_documents(suite_run: Path, tmp_path: Path) -> None:
    # The judge updates a summary of the current format through the typed document.
    from duplex.judges.base import JudgeInput, Verdict
    from duplex.report.judged import judge_run

    run = tmp_path / "ui"
    shutil.copytree(suite_run, run)
    summary = json.loads((run / "summary.json").read_text())
    summary["task"] = "user_interruption"
    (run / "summary.json").write_text(json.dumps(summary))

    class Fixed:
        name, model, prompt_version, prompt_sha = "fixed", "none", "v0", "0"
        max_concurrency, max_attempts = 1, 1

        def rate(self, item: JudgeInput) -> Verdict:
            return Verdict(score=3, reason="ok", judge="fixed", model="none", prompt_version="v0")

        def describe(self) -> dict[str, Any]:
            return {"spec": "fixed", "name": "fixed", "model": "none", "prompt_version": "v0"}

        def close(self) -> None:
            pass

    judge_run(run, "fixed", judge=Fixed())  # type: ignore[arg-type]
    _validator("summary").validate(json.loads((run / "summary.json").read_text()))


def _downgrade(folder: Path) -> None:
    """Rewrite a run folder as format 1 wrote it: no format fields, notes at the row's top."""
    run = json.loads((folder / "run.json").read_text())
    del run["format"]
    run["config"]["old_field"] = "kept"
    (folder / "run.json").write_text(json.dumps(run))
    summary = json.loads((folder / "summary.json").read_text())
    del summary["format"]
    (folder / "summary.json").write_text(json.dumps(summary))
    lines = []
    for line in (folder / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        row.pop("notes", None)
        row["words_from"] = "faster-whisper-tiny.en"
        lines.append(json.dumps(row))
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")


def test_old_run_folders_load_and_newer_ones_name_their_version(
    suite_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    shutil.copytree(suite_run, old)
    _downgrade(old)
    run = load_run(old)
    assert run.run_doc["format"] == FORMAT and run.config["old_field"] == "kept"
    assert all(r["notes"]["words_from"] == "faster-whisper-tiny.en" for r in run.rows.values())
    assert run.values("tor_fdb") == load_run(suite_run).values("tor_fdb")
    assert main(["report", str(old)]) == 0

    new = tmp_path / "new"
    shutil.copytree(suite_run, new)
    doc = json.loads((new / "run.json").read_text())
    doc["format"] = FORMAT + 1
    (new / "run.json").write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=f"results format {FORMAT + 1}"):
        load_run(new)
    assert main(["report", str(new)]) == 2
    assert f"format {FORMAT + 1}" in capsys.readouterr().err
