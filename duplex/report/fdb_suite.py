"""Full-Duplex-Bench's released data as a suite: ``run --scenario fdb:PATH [--task TASK]``.

PATH is one task's folder of sample folders in the anchor's layout. Each sample becomes an item:
its ``input.wav`` (any rate, resampled to the session rate) is the user channel, and the task's
FDB format reads its annotations (``pause.json``, ``turn_taking.json``, ``interrupt.json``, the
task folder's ``icc_gt_distribution.json``). A v1.5 folder (``input.wav`` with the overlap,
``clean_input.wav`` without it, ``metadata.json``) gives two items, ``NAME`` and ``NAME.clean``:
both inputs are run, as the anchor runs them (a task with v1.5 pairs, the overlap task, reads the
second as the pair's clean run).

The task is told by the annotation files unless given: the first task (in leaderboard order)
whose annotation file the samples carry; a folder with only ``input.wav`` files and a ground
truth is backchannel. Interruptions in the anchor's data are in the input already (fixed times),
so items carry the interruption as a placed cue and no reactive one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from duplex.annotations import CLEAN_SUFFIX
from duplex.audio import SESSION_RATE, read_wav
from duplex.errors import ConfigError, ScenarioError
from duplex.metrics.tasks import TASKS, Task, all_tasks
from duplex.report.fdb import fdb_task, sample_folders
from duplex.scenarios.base import ScenarioItem

PREFIX = "fdb:"
#: The v1.5 layout's second input: the same turn without the overlap.
CLEAN_INPUT = "clean_input.wav"


def is_fdb_scenario(name: str) -> bool:
    return name.startswith(PREFIX)


def detect_task(root: Path) -> Task:
    """The task whose FDB files the folder's samples carry (see the module doc)."""
    tasks = sorted((t for t in all_tasks() if t.fdb is not None), key=lambda t: (t.rank, t.name))
    samples = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    # A task's own annotation file wins over files that only also mark another task's samples
    # (v1.5's metadata.json is the overlap task's, and also read by user_interruption).
    for marks in (lambda f: (f.annotation_file,), lambda f: f.also_marked_by):
        for task in tasks:
            assert task.fdb is not None
            if any((s / n).exists() for s in samples for n in marks(task.fdb)):
                return task
    for task in tasks:
        if task.fdb is not None and task.fdb.context is not None and task.fdb.context(root):
            return task
    raise ScenarioError(
        f"{root}: cannot tell the task (no sample has "
        + ", ".join(sorted({t.fdb.annotation_file for t in tasks if t.fdb}))
        + "); give --task"
    )


class FdbSuite:
    """The items of an FDB task folder, with the interface the runner uses of a suite."""

    def __init__(self, root: Path, task: str | None = None) -> None:
        if not root.is_dir():
            raise ScenarioError(f"{root}: no such folder of FDB samples")
        self.root = root
        self.task_spec = TASKS.get(task) if task else detect_task(root)
        _, self.format = fdb_task(self.task_spec.name)
        self.context = self.format.context(root) if self.format.context else None
        self._folders: dict[str, tuple[Path, str]] = {}
        for folder in sample_folders(root, self.format):
            if not (folder / "input.wav").exists():
                raise ScenarioError(f"{folder}: no input.wav to play to the model")
            self._folders[folder.name] = (folder, "input.wav")
            if (folder / CLEAN_INPUT).exists():
                self._folders[folder.name + CLEAN_SUFFIX] = (folder, CLEAN_INPUT)
        self.version = self._content_hash()

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.root.name}"

    @property
    def task(self) -> str:
        return self.task_spec.name

    def item_ids(self) -> list[str]:
        return list(self._folders)

    def render(self, item_id: str) -> ScenarioItem:
        if item_id not in self._folders:
            raise ScenarioError(f"{self.root}: no sample {item_id!r}")
        folder, wav = self._folders[item_id]
        audio, _ = read_wav(folder / wav, rate=SESSION_RATE)
        annotations = self.format.read(folder, self.context)
        if wav == CLEAN_INPUT and self.format.clean is not None:
            annotations = self.format.clean(annotations)
        return ScenarioItem(
            suite=self.name,
            suite_version=self.version,
            item_id=item_id,
            audio=audio,
            sample_rate=SESSION_RATE,
            annotations=annotations,
            spec_hash=_files_hash([folder / wav, *self._annotation_files(folder)]),
            provenance={"source": "fdb", "folder": str(folder), "input": wav},
        )

    def _annotation_files(self, folder: Path) -> list[Path]:
        names = (self.format.annotation_file, *self.format.also_marked_by)
        return [folder / n for n in names if (folder / n).exists()]

    def _content_hash(self) -> str:
        """A short hash of every input and annotation file: the suite's version, so a resumed
        run refuses a folder whose data changed."""
        files: list[Path] = []
        for folder, wav in self._folders.values():
            files += [folder / wav, *self._annotation_files(folder)]
        return "fdb-" + _files_hash(sorted(set(files)))[:12]

    def __len__(self) -> int:
        return len(self._folders)


def _files_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def open_fdb_suite(name: str, task: str | None) -> tuple[FdbSuite, Task]:
    """``fdb:PATH`` as a suite and its task."""
    path = Path(name[len(PREFIX) :]).expanduser()
    if not str(path):
        raise ConfigError("--scenario fdb:PATH needs a folder of FDB samples")
    suite = FdbSuite(path, task)
    return suite, suite.task_spec
