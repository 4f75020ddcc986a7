"""Executors without an engine: specs, the worker's job in process, the runner's hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from duplex.cli import main
from duplex.errors import ConfigError
from duplex.executors import load_executor
from duplex.executors.base import Finished, ModelFacts, deliver, remote_model
from duplex.executors.worker import ItemWorker
from duplex.models.base import LockstepModel, Model
from duplex.runner import ItemOutcome, RunConfig, SuiteRun, run_suite


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rey", "unknown executor 'rey'; did you mean 'ray'"),
        ("ray:workers", "'workers' is not key=value"),
        ("ray:workers=two", "workers='two' is not a int"),
        (
            "ray:gpu=1",
            "unknown option 'gpu' (options: address, cpus, gpus, load_timeout, retries, workers)",
        ),
        ("ray:workers=0", "workers must be at least 1"),
        ("ray:retries=-1", "retries must be 0 or more"),
        ("ray:cpus=1,cpus=2", "cpus is given twice"),
        ("local:x=1", "local takes no arguments"),
    ],
)
def test_bad_specs_name_the_option(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_executor(spec)


def test_local_is_this_process() -> None:
    assert load_executor("local") is None and load_executor(None) is None


def test_bad_executor_is_one_line_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--scenario", "pause_handling", "--executor", "ray:workers=0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "workers must be at least 1" in err


def test_the_describe_drops_credentials() -> None:
    executor = load_executor("ray:address=ray://me:secret@head:10001,workers=2,gpus=0.5")
    assert executor is not None
    text = executor.describe()
    assert "secret" not in text and "me@" not in text
    assert text == "ray:address=ray://head:10001,workers=2,cpus=1,gpus=0.5,retries=1"


class InProcess:
    """An executor whose "workers" are :class:`ItemWorker` objects in this process: the hook and
    the worker's packing exercised without an engine."""

    def __init__(self) -> None:
        self.workers: list[ItemWorker] = []
        self.calls: list[list[str]] = []

    def describe(self) -> str:
        return "in-process"

    def load_model(self, spec: str) -> Model:
        worker = ItemWorker(spec)
        self.workers.append(worker)
        return remote_model(worker.facts(), worker, worker.close)

    def run_items(
        self, run: SuiteRun, todo: list[str], record: Callable[[ItemOutcome], None]
    ) -> None:
        worker = run.model.handle  # type: ignore[attr-defined]
        for item_id in todo:
            self.calls.append([item_id])
            for done in worker.run(run.config, [item_id]):
                assert isinstance(done, Finished)
                record(deliver(run, done))

    def close(self) -> None:
        pass


def _rows(folder: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    return {r["item_id"]: r for r in rows}


@pytest.mark.slow
def test_a_run_through_workers_writes_what_a_local_run_writes(tmp_path: Path) -> None:
    spec = "oracle:latency=0.6"
    local = RunConfig(suite="pause_handling", model=spec, limit=2, out=tmp_path / "local")
    run_suite(local)
    executor = InProcess()
    remote = RunConfig(
        suite="pause_handling",
        model=spec,
        limit=2,
        out=tmp_path / "remote",
        export_fdb=tmp_path / "fdb",
    )
    result = run_suite(remote, executor=executor)
    assert [o.status for o in result.outcomes] == ["ok", "ok"]
    assert executor.calls == [["ph-001"], ["ph-002"]]
    a, b = _rows(tmp_path / "local"), _rows(tmp_path / "remote")
    assert a.keys() == b.keys()
    for item_id, row in a.items():
        assert row["transcript"] == b[item_id]["transcript"]
        for key, value in row["metrics"].items():  # type: ignore[union-attr]
            got = b[item_id]["metrics"][key]  # type: ignore[index]
            assert got == pytest.approx(value, abs=0.02), (item_id, key, row, b[item_id])
        files = sorted(p.name for p in (tmp_path / "local/sessions" / item_id).iterdir())
        assert files == sorted(p.name for p in (tmp_path / "remote/sessions" / item_id).iterdir())
    # The FDB export: sample folders by number and the map, as a local export writes them.
    fdb_map = json.loads((tmp_path / "fdb/fdb_map.json").read_text())
    assert fdb_map == {"pause_handling": {"1": "ph-001", "2": "ph-002"}}
    assert (tmp_path / "fdb/pause_handling/2/output.wav").is_file()
    # The worker's scratch folder keeps nothing of a finished item.
    scratch = executor.workers[0].scratch
    assert not any(p.is_file() for p in scratch.rglob("*") if "sessions" in p.parts)
    run_doc = json.loads((tmp_path / "remote/run.json").read_text())
    assert run_doc["config"]["executor"] == "in-process"
    assert run_doc["model"]["spec"] == spec  # the model's own description, from the worker
    executor.workers[0].close()
    assert not scratch.exists()


def test_the_driver_stand_in_has_the_models_kind() -> None:
    facts = ModelFacts("m", "lockstep", {"spec": "m", "class": "X"}, 24000, 1920, 1, False)
    released: list[bool] = []
    model = remote_model(facts, None, lambda: released.append(True))
    assert isinstance(model, LockstepModel) and model.describe()["class"] == "X"
    with pytest.raises(ConfigError, match="runs on the executor's workers"):
        model.open(None)  # type: ignore[arg-type]
    model.close()
    assert released == [True]


def test_a_worker_reports_its_models_load_error() -> None:
    worker = ItemWorker("python:tests.executors.models:no_such_factory")
    with pytest.raises(ConfigError, match="has no attribute 'no_such_factory'"):
        worker.facts()
    worker.close()
