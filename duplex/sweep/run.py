"""``duplex-bench sweep``: every suite (and optionally the probes) per checkpoint, resumably.

Checkpoints are the paths a glob matches; each one's training step comes from its name, by the
probe sweep's rule (:func:`duplex.probes.sweep.parse_step`): the number after ``checkpoint``,
``global_step``, ``step``, ``iter``, ``iteration`` or ``ckpt`` (joined by nothing, ``-`` or
``_``), else the last number in the name. ``--model`` is a template with ``{checkpoint}``.

Layout, every run folder an ordinary one (``compare``, ``report`` and ``run --resume`` read it)::

    OUT/step-N/<suite>/     a suite's run folder, its run.json carrying ``step``
    OUT/step-N/probe/       probe.json, when probes are swept
    OUT/sweep.csv           one row per checkpoint x task x metric (:mod:`duplex.sweep.table`)
    OUT/sweep.html          metrics against step, regressions between checkpoints

A rerun finishes what is missing: complete run folders are left alone (their checkpoint's model
is not even loaded), others resume; the CSV and page are written again from every folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from duplex.errors import ConfigError
from duplex.metrics.analysis import SCORE_BATCH
from duplex.probes.run import ProbeConfig, run_probe, write_results
from duplex.probes.sweep import Checkpoint, find_checkpoints, model_for
from duplex.provenance import run_folder
from duplex.report.store import RunStore
from duplex.runner import Executor, OnItem, RunConfig, load_run_model, open_suite, run_suite
from duplex.scenarios import SUITES

ALL = "all"
PROBE_FOLDER = "probe"


@dataclass(frozen=True)
class SweepConfig:
    #: a glob of checkpoint paths (files or folders)
    checkpoints: str
    #: the model spec, with ``{checkpoint}`` where the checkpoint's path goes
    model: str
    #: suite names or paths; ``all`` is every registered suite
    suites: tuple[str, ...] = (ALL,)
    out: Path | None = None
    limit: int | None = None
    seed: int = 0
    clock: str = "auto"
    batch: int = 1
    #: as run --score-batch
    score_batch: int = SCORE_BATCH
    retries: int = 0
    #: the judge of the runs that have one (as ``run --judge``); None: only what needs no judge
    judge: str | None = None
    #: probes per checkpoint: the probe run's settings (its model is ``probe_model``'s)
    probe: ProbeConfig | None = None
    #: the probe model's template; None: the probe sweep's default for the checkpoint's kind
    probe_model: str | None = None


@dataclass
class StepRuns:
    """One checkpoint's run folders."""

    checkpoint: Checkpoint
    suites: dict[str, Path] = field(default_factory=dict)
    probe: Path | None = None
    #: suites whose items ran in this invocation (the others were complete already)
    ran: list[str] = field(default_factory=list)


def default_out(template: str) -> Path:
    """``runs/sweep-<model template>``: the same folder for the same sweep, so a rerun resumes."""
    stamped = run_folder("sweep", template.replace("{checkpoint}", "ckpt"))
    return stamped.parent / stamped.name.rsplit("-", 2)[0]


def suite_names(requested: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(n for r in requested for n in (SUITES.names() if r == ALL else [r])))
    if not names:
        raise ConfigError("--scenario: no suite to sweep")
    for name in names:
        open_suite(name)  # an unknown suite fails now, not after the first checkpoint's runs
    return names


def _suite_folder(name: str) -> str:
    return Path(name).stem if name.endswith((".yaml", ".yml")) else name


def _complete(config: RunConfig) -> bool:
    """Every item of the run already scored (failed items are tried again, as on --resume)."""
    assert config.out is not None
    store = RunStore(config.out)
    if not store.run_path.is_file():
        return False
    suite, _task = open_suite(config.suite)
    ids = suite.item_ids()[: config.limit] if config.limit else suite.item_ids()
    done = store.read_results()
    return all(i in done and done[i].status == "ok" for i in ids)


def sweep_checkpoint(
    config: SweepConfig,
    checkpoint: Checkpoint,
    root: Path,
    names: Sequence[str],
    *,
    executor: Executor | None = None,
    on_item: OnItem | None = None,
    judge: Callable[[Path], None] | None = None,
) -> StepRuns:
    """One checkpoint: its suites (the model loaded once, only if some item is missing), then its
    probe run if asked for and not there yet."""
    spec = model_for(config.model, checkpoint.path)
    folder = root / f"step-{checkpoint.step}"
    runs = StepRuns(checkpoint)
    configs = []
    for name in names:
        out = folder / _suite_folder(name)
        runs.suites[name] = out
        cfg = RunConfig(
            suite=name,
            model=spec,
            clock=config.clock,
            limit=config.limit,
            out=out,
            resume=True,
            seed=config.seed,
            retries=config.retries,
            batch=config.batch,
            score_batch=config.score_batch,
            step=checkpoint.step,
        )
        if not _complete(cfg):
            configs.append(cfg)
    if configs:
        model = load_run_model(spec, executor)
        try:
            for cfg in configs:
                run_suite(cfg, on_item=on_item, model=model, executor=executor)
                runs.ran.append(cfg.suite)
                if judge is not None:
                    assert cfg.out is not None
                    judge(cfg.out)
        finally:
            model.close()
    if config.probe is not None:
        runs.probe = folder / PROBE_FOLDER
        if not (runs.probe / "probe.json").is_file():
            probe_spec = model_for(config.probe_model, checkpoint.path)
            write_results(run_probe(replace(config.probe, model=probe_spec)), runs.probe)
    return runs


def run_sweep(
    config: SweepConfig,
    *,
    executor: Executor | None = None,
    on_item: OnItem | None = None,
    on_step: Callable[[StepRuns], None] | None = None,
    judge: Callable[[Path], None] | None = None,
) -> tuple[Path, list[StepRuns]]:
    """Every checkpoint in step order; returns the sweep folder and each step's run folders.
    ``judge(folder)`` is called for every run folder whose items ran (the CLI judges
    user_interruption runs there)."""
    checkpoints = find_checkpoints(config.checkpoints)
    names = suite_names(config.suites)
    for c in checkpoints:  # a bad template fails before any model loads
        model_for(config.model, c.path)
        if config.probe is not None:
            model_for(config.probe_model, c.path)
    root = config.out or default_out(config.model)
    steps = []
    for c in checkpoints:
        runs = sweep_checkpoint(
            config, c, root, names, executor=executor, on_item=on_item, judge=judge
        )
        steps.append(runs)
        if on_step is not None:
            on_step(runs)
    return root, steps
