"""One worker's job, whatever engine hosts it: load the model once, run items as a local run does.

A Ray actor is this class wrapped by ``ray.remote`` (:mod:`duplex.executors.ray`); it imports no
engine, so tests can drive it in process. Items go through the runner's own code
(:func:`duplex.runner.run_items_here`: sequential, ``--concurrency`` or ``--batch``), into a
scratch run folder of the worker's; each finished item is packed
(:func:`duplex.executors.base.pack`) and its scratch files removed. Real-time sessions on a
worker run on the worker's own clock, so their timing figures are what a local run records.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from duplex.errors import DuplexError
from duplex.executors.base import Finished, ModelFacts, pack
from duplex.models.base import Model
from duplex.models.registry import load_model
from duplex.runner import RunConfig, SuiteRun, run_items_here


class ItemWorker:
    """The model loaded once; :meth:`run` takes a run's configuration and a few item ids."""

    def __init__(self, model_spec: str, cwd: str | None = None) -> None:
        # Relative paths in specs (a python: model file, a YAML suite) mean what they mean to the
        # driver when its working directory exists here too (one machine, a shared file system).
        if cwd is not None and Path(cwd).is_dir():
            os.chdir(cwd)
        # A model that fails to load is reported by facts(), as the error it is: an engine that
        # sees its worker die in the constructor would turn it into a crash report.
        self.error: DuplexError | None = None
        try:
            self._model: Model | None = load_model(model_spec)
        except DuplexError as exc:
            self._model, self.error = None, exc
        self.scratch = Path(tempfile.mkdtemp(prefix="duplex-worker-"))
        self.runs: dict[RunConfig, SuiteRun] = {}

    @property
    def model(self) -> Model:
        if self._model is None:
            assert self.error is not None
            raise self.error
        return self._model

    def facts(self) -> ModelFacts:
        return ModelFacts.of(self.model)

    def pid(self) -> int:
        return os.getpid()

    def _run_for(self, config: RunConfig) -> SuiteRun:
        run = self.runs.get(config)
        if run is None:
            where = self.scratch / f"run{len(self.runs)}"
            export = None if config.export_fdb is None else where / "fdb"
            local = replace(config, out=where / "run", export_fdb=export, resume=False)
            run = SuiteRun(local, self.model)
            run.folder.mkdir(parents=True, exist_ok=True)
            self.runs[config] = run
        return run

    def run(self, config: RunConfig, item_ids: list[str]) -> list[Finished]:
        """Run ``item_ids`` of the run ``config`` describes; every item comes back, scored or
        failed with its reason (a model failure is an outcome, as in a local run)."""
        run = self._run_for(config)
        outcomes = run_items_here(run, item_ids)
        # The scratch store's own result lines are not the record: the driver's are.
        run.store.results_path.unlink(missing_ok=True)
        return [pack(run, o) for o in outcomes]

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
