"""What ``duplex-bench probe`` does, kept out of :mod:`duplex.cli` so the command stays thin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from duplex.errors import ConfigError
from duplex.probes.conditions import CONDITIONS, ORDER
from duplex.probes.models import ADAPTERS, DEFAULT_MODEL
from duplex.probes.report import format_table
from duplex.probes.run import (
    ProbeConfig,
    check_condition_names,
    load_sets,
    run_probe,
    write_results,
)
from duplex.probes.sets import SETS
from duplex.probes.sweep import run_sweep
from duplex.progress import progress as progress_of
from duplex.provenance import run_folder


def list_probe_choices() -> str:
    lines = ["sets:"]
    lines += [f"  {e.name:<12} {e.summary}" for e in SETS]
    lines.append("conditions:")
    lines += [f"  {name:<13} {CONDITIONS.get(name).summary}" for name in ORDER]
    lines.append("models:")
    lines += [f"  {e.name:<12} {e.summary}" for e in ADAPTERS]
    lines.append(f"default model: {DEFAULT_MODEL} (SmolLM2-135M through Whisper tiny.en)")
    return "\n".join(lines)


def default_out(model: str) -> Path:
    return run_folder("probe", model)


def probe_command(
    *,
    model: str | None,
    sets: Sequence[str],
    conditions: Sequence[str],
    limit: int | None,
    out: Path | None,
    seed: int,
    threads: int,
    checkpoints: str | None,
    progress: bool,
) -> int:
    if limit is not None and limit <= 0:
        raise ConfigError(f"--limit must be positive, got {limit}")
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    # Names are checked before any model loads: a typo should not cost a 30 s load.
    load_sets(sets, limit)
    check_condition_names(conditions)
    config = ProbeConfig(
        model=model or DEFAULT_MODEL,
        sets=tuple(sets),
        conditions=tuple(conditions),
        limit=limit,
        seed=seed,
        threads=threads,
    )
    if checkpoints is not None:
        folder = out or default_out("sweep")
        runs = run_sweep(config, checkpoints, folder, template=model)
        for c, run in runs:
            print(f"== step {c.step}: {c.path}")
            print(format_table(run.rows, run.timing, run.failures), end="\n\n")
        print(f"sweep: {folder / 'sweep.csv'}, {folder / 'sweep.svg'}")
        return 0
    folder = out or default_out(config.model)
    run = run_probe(config, on_progress=progress_of(progress) if progress else None)
    print(format_table(run.rows, run.timing, run.failures))
    print(f"results: {write_results(run, folder)}")
    return 0
