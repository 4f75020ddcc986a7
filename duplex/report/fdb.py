"""Full-Duplex-Bench sample folders in and out.

In: :func:`score_fdb_folder` scores a folder of Full-Duplex-Bench v1 samples with a task's scorer.
Out: :func:`export_fdb_session` writes one of our sessions as such a sample, so the anchor's own
scripts can score it.

The layout (one folder per sample, times in seconds on the ``input.wav`` timeline)::

    ROOT/                           a task's folder, e.g. candor_turn_taking/
      (task files)                  shared data a task reads once (the backchannel ground truth)
      SAMPLE/
        input.wav                   user side
        output.wav                  model side, time-synchronous with input.wav
        output.json                 optional ASR words: {"text", "chunks": [{"text",
                                    "timestamp": [start, end]}]}; our ASR runs when absent
        (annotation file)           the task's own: pause.json, turn_taking.json,
                                    interrupt.json, backchannel.json...

What each task's files hold, and how they are read and written, is the task's
(:attr:`duplex.metrics.tasks.Task.fdb`); this module knows only the parts every task shares.

v1.5 pairs (a task whose format has ``clean``, the overlap task): one sample folder holds both
runs, the overlapped one under the names above and the clean one under ``clean_input.wav``,
``clean_output.wav``, ``clean_output.json``; they are read as two items, ``NAME`` and
``NAME.clean``, and our items ``ID`` and ``ID.clean`` are written into one folder.

Output length: the anchor's clients pad or truncate the output to the input length; here the
output's own timeline is kept (the anchor's backchannel figures use the output's duration) and the
input is padded or truncated to it, the difference being recorded per row.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from duplex.annotations import CLEAN_SUFFIX, Annotations, pair_id
from duplex.audio import fit_length, read_wav, wav_shortfall
from duplex.errors import ConfigError, DuplexError, ScenarioError
from duplex.metrics import analyze_each, analyze_output, fdbio
from duplex.metrics.analysis import SCORE_BATCH, OutputAnalysis
from duplex.metrics.fdb_rules import Stamp
from duplex.metrics.tasks import TASKS, FdbFormat, Task
from duplex.report.documents import ResultRow, RunSettings, Summary, build_summary
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word

_log = logging.getLogger(__name__)

WORDS_FILE = "output.json"
#: The file-name prefix of a v1.5 sample's clean run.
CLEAN_PREFIX = "clean_"
#: In an export folder: which of our items each numbered sample folder holds, per task.
MAP_FILE = "fdb_map.json"
_map_lock = threading.Lock()


@dataclass
class FdbResults:
    """Per-sample rows and a summary shaped like a run's ``summary.json``."""

    rows: list[ResultRow]
    summary: Summary


def fdb_task(name: str) -> tuple[Task, FdbFormat]:
    """A registered task that has a Full-Duplex-Bench folder format."""
    if name not in TASKS:
        raise ConfigError(TASKS.miss_message(name, kind="FDB task"))
    task = TASKS.get(name)
    if task.fdb is None:
        having = [t for t in TASKS.names() if TASKS.get(t).fdb is not None]
        raise ConfigError(f"task {name!r} has no FDB folder format (tasks that do: {having})")
    return task, task.fdb


def fdb_task_names() -> list[str]:
    """The tasks ``score --fdb`` can read (imports every task module)."""
    return [name for name in TASKS.names() if TASKS.get(name).fdb is not None]


# ---------------------------------------------------------------------------------------- in


def read_words(path: Path) -> tuple[Transcript, tuple[Stamp, ...]]:
    """The anchor's ``output.json`` as (our transcript, its word times as listed).

    The transcript skips chunks without a start time (as the anchor's ASR step does) and takes a
    missing end as the start; the listed times keep every null, since the anchor's scripts read
    them so (the take-over duration from the last *listed* word, the backchannel word counts).
    """
    doc = fdbio.load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("chunks"), list):
        raise ScenarioError(f"{path}: expected an object with a 'chunks' list")
    words: list[Word] = []
    stamps: list[Stamp] = []
    for i, c in enumerate(doc["chunks"]):
        where = f"chunks[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("timestamp"), list | tuple):
            raise ScenarioError(f"{path}: {where} must be an object with a 'timestamp' list")
        ts = [*c["timestamp"], None, None]
        start = None if ts[0] is None else fdbio.number(ts[0], path, f"{where}.timestamp[0]")
        end = None if ts[1] is None else fdbio.number(ts[1], path, f"{where}.timestamp[1]")
        stamps.append((start, end))
        word = fdbio.text(c, "text", path, f"{where}.text").strip()
        if start is not None and word:
            words.append(Word(start, max(start, start if end is None else end), word, 1.0))
    full = doc.get("text")
    text = full if isinstance(full, str) else " ".join(w.text for w in words)
    return Transcript(text, tuple(words)), tuple(stamps)


#: A sample read back: its recording, annotations, the words of its ``output.json`` (None: no such
#: file) and notes.
FdbSample = tuple[
    Recording, Annotations, tuple[Transcript, tuple[Stamp, ...]] | None, dict[str, Any]
]


def load_fdb_sample(folder: Path, task: Task, context: Any = None, prefix: str = "") -> FdbSample:
    """A sample folder as (recording on the output's timeline, annotations, the words of
    ``output.json`` or None, notes); ``prefix`` ``clean_`` reads a v1.5 sample's clean run."""
    _, fmt = fdb_task(task.name)
    output, words_file = folder / f"{prefix}output.wav", folder / f"{prefix}{WORDS_FILE}"
    model, rate = read_wav(output)
    notes: dict[str, Any] = {}
    short = wav_shortfall(output)
    if short:
        notes["output_truncated_bytes"] = short
        _log.warning(
            "%s: the file is %d bytes shorter than its header says: scored as far as it goes",
            output,
            short,
        )
    if (folder / f"{prefix}input.wav").exists():
        user, _ = read_wav(folder / f"{prefix}input.wav", rate=rate)
        notes["input_length_mismatch_s"] = round((user.size - model.size) / rate, 4)
        user = fit_length(user, model.size)
    else:
        user = np.zeros(model.size, np.float32)
        notes["input"] = "missing"
    annotations = fmt.read(folder, context)
    if prefix and fmt.clean is not None:
        annotations = fmt.clean(annotations)
    words = read_words(words_file) if words_file.exists() else None
    recording = Recording(rate, user, model, annotations=annotations, source_folder=folder)
    return recording, annotations, words, notes


def sample_runs(folder: Path, fmt: FdbFormat) -> list[tuple[str, str]]:
    """``(item id, file prefix)`` of each run a sample folder holds: itself, and for a task
    with v1.5 pairs its clean run when its output is there."""
    runs = [(folder.name, "")]
    if fmt.clean is not None and (folder / f"{CLEAN_PREFIX}output.wav").exists():
        runs.append((folder.name + CLEAN_SUFFIX, CLEAN_PREFIX))
    return runs


def sample_of(fmt: FdbFormat, item_id: str) -> tuple[str, str]:
    """``(sample id, file prefix)`` an item is written under: a v1.5 pair's two runs share
    their sample (``ID.clean`` goes to ``ID``'s folder with the prefix ``clean_``)."""
    if fmt.clean is None:
        return item_id, ""
    base, clean = pair_id(item_id)
    return base, CLEAN_PREFIX if clean else ""


def _natural_key(p: Path) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name))


def _is_sample(p: Path, fmt: FdbFormat) -> bool:
    names = ("output.wav", "input.wav", fmt.annotation_file, *fmt.also_marked_by)
    return p.is_dir() and not p.name.startswith(".") and any((p / n).exists() for n in names)


def sample_folders(root: Path, fmt: FdbFormat) -> list[Path]:
    """The sample folders under ``root`` (natural order), or ``[root]`` if it is one itself."""
    if not root.is_dir():
        raise ScenarioError(f"{root}: no such folder")
    if (root / "output.wav").exists():
        return [root]
    folders = sorted((p for p in root.iterdir() if _is_sample(p, fmt)), key=_natural_key)
    if not folders:
        raise ScenarioError(
            f"{root}: no sample folders (subfolders with output.wav, input.wav or "
            f"{fmt.annotation_file})"
        )
    return folders


def score_fdb_folder(
    root: Path,
    task: str,
    *,
    vad: str = "silero",
    asr: str = "faster-whisper-tiny.en",
    seed: int = 0,
) -> FdbResults:
    """Score every sample folder under ``root`` with ``task``'s scorer.

    Words come from the sample's ``output.json`` when present (the anchor's ASR output), else
    from our ``asr``; voice activity always from our ``vad``. A malformed or unreadable sample
    becomes a failed row naming the file and field; the others are still scored.
    """
    root = Path(root)
    spec, fmt = fdb_task(task)
    folders = sample_folders(root, fmt)
    context = fmt.context(root) if fmt.context is not None else None
    runs = [(folder, *run) for folder in folders for run in sample_runs(folder, fmt)]
    rows: list[ResultRow] = []
    # Samples are analysed SCORE_BATCH at a time: their ASR shares batches on every core.
    for i in range(0, len(runs), SCORE_BATCH):
        rows += _score_samples(runs[i : i + SCORE_BATCH], spec, context, vad, asr)
    return FdbResults(rows, _summary(root, spec, rows, vad, asr, seed))


def _score_samples(
    runs: list[tuple[Path, str, str]], task: Task, context: Any, vad: str, asr: str
) -> list[ResultRow]:
    """Rows of ``(folder, item id, file prefix)`` samples, in order; one that is malformed or
    cannot be analysed is a failed row naming the file and field, the others are scored."""
    loaded: list[FdbSample | DuplexError] = []
    for folder, _, prefix in runs:
        try:
            loaded.append(load_fdb_sample(folder, task, context, prefix))
        except DuplexError as exc:
            loaded.append(exc)
    analyses: dict[int, OutputAnalysis | DuplexError] = {}
    # Words from the folder's output.json need no ASR: those samples are analysed apart.
    for wanted in (asr, None):
        which = [
            k
            for k, s in enumerate(loaded)
            if not isinstance(s, DuplexError) and _asr_for(s, task, asr) == wanted
        ]
        found = analyze_each([_ok(loaded[k])[0] for k in which], vad=vad, asr=wanted)
        analyses.update(zip(which, found, strict=True))
    rows = []
    for k, (_, item_id, _) in enumerate(runs):
        try:
            sample = _ok(loaded[k])
            rows.append(_row(item_id, task, sample, _ok(analyses[k]), _asr_for(sample, task, asr)))
        except DuplexError as exc:
            rows.append(ResultRow.failure(item_id, str(exc)))
    return rows


def _asr_for(sample: FdbSample, task: Task, asr: str) -> str | None:
    return asr if sample[2] is None and task.needs_words else None


T = TypeVar("T")


def _ok(result: T | DuplexError) -> T:
    """``result``, or its error raised."""
    if isinstance(result, DuplexError):
        raise result
    return result


def _row(
    item_id: str, task: Task, sample: FdbSample, analysis: OutputAnalysis, wanted: str | None
) -> ResultRow:
    recording, annotations, words, notes = sample
    if words is not None:
        transcript, stamps = words
        analysis = replace(analysis, transcript=transcript, asr_backend=WORDS_FILE, stamps=stamps)
    notes["words_from"] = WORDS_FILE if words is not None else wanted
    return ResultRow(
        item_id=item_id,
        status="ok",
        duration_s=round(recording.duration, 4),
        metrics=task.score(recording, annotations, analysis),
        details=task.details(recording, annotations, analysis) if task.details else {},
        transcript=analysis.transcript.text,
        notes=notes,
    )


def _summary(
    root: Path, task: Task, rows: list[ResultRow], vad: str, asr: str, seed: int
) -> Summary:
    sources = Counter(str(r.notes.get("words_from")) for r in rows if r.status == "ok")
    words = " + ".join(f"{k} ({n})" for k, n in sorted(sources.items())) if sources else asr
    settings = RunSettings(
        suite=f"fdb:{root.name}",
        suite_version="-",
        task=task.name,
        task_version=task.version,
        model="outputs in the folder",
        clock="offline",
        vad=vad,
        asr=asr,
        out=str(root),
    )
    return build_summary(
        rows,
        task,
        len(rows),
        settings,
        backends={"vad": vad, "asr": words},
        seed=seed,
        root=str(root),
    )


# --------------------------------------------------------------------------------------- out


def check_export_root(root: Path) -> None:
    """Refuse an export folder that cannot be one, before any session runs."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--export-fdb {root}: exists and is not a folder")
    for parent in root.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--export-fdb {root}: {parent} is not a folder")
            break


def export_sample_dir(root: Path, task: str, index: int, item_id: str) -> Path:
    """``root/<task>/<index>``: one task's samples in a folder of their own, named by number.

    The anchor's scripts need both: its pause and turn-taking scripts stop at any file in the
    task folder that is not a sample, its interruption script takes every nested folder for a
    sample, and its backchannel script reads only folders named by digits. Which item a number
    holds is recorded in ``root/fdb_map.json`` (``{task: {index: item id}}``).
    """
    with _map_lock:
        path = root / MAP_FILE
        doc = fdbio.load_json(path) if path.exists() else {}
        if not isinstance(doc, dict):
            raise ScenarioError(f"{path}: expected an object {{task: {{index: item id}}}}")
        doc.setdefault(task, {})[str(index)] = item_id
        root.mkdir(parents=True, exist_ok=True)
        fdbio.write_json(path, doc)
    return root / task / str(index)


def sample_numbers(task: Task, item_ids: list[str]) -> dict[str, int]:
    """Item id -> the number of the sample folder it is exported to (from 1, in suite order);
    the two runs of a v1.5 pair share one."""
    fmt = task.fdb
    samples = [item_id if fmt is None else sample_of(fmt, item_id)[0] for item_id in item_ids]
    numbers = {s: n for n, s in enumerate(dict.fromkeys(samples), start=1)}
    return {item_id: numbers[s] for item_id, s in zip(item_ids, samples, strict=True)}


def export_item(
    root: Path,
    task: Task,
    number: int,
    item_id: str,
    recording: Recording,
    annotations: Annotations,
    transcript: Transcript,
) -> Path:
    """Write one session of a run into the export folder ``root`` (see
    :func:`export_sample_dir`), under the names its run has in a v1.5 pair."""
    _, fmt = fdb_task(task.name)
    sample, prefix = sample_of(fmt, item_id)
    dest = export_sample_dir(root, task.name, number, sample)
    return export_fdb_session(dest, recording, annotations, task, transcript, prefix=prefix)


def export_fdb_session(
    dest: Path,
    recording: Recording,
    annotations: Annotations,
    task: Task | str,
    transcript: Transcript | None = None,
    *,
    vad: str = "silero",
    asr: str = "faster-whisper-tiny.en",
    prefix: str = "",
) -> Path:
    """Write one session as a Full-Duplex-Bench sample folder ``dest`` and return it.

    ``input.wav``/``output.wav`` at 16 kHz, 16-bit; the task's annotation file(s) in the
    anchor's format, written by the task's format; and ``output.json`` from the words the task
    keeps of ``transcript`` (our ASR of the output when None). ``prefix`` (``clean_``, from
    :func:`sample_of`) names the files of a v1.5 pair's clean run.
    """
    _, fmt = fdb_task(task if isinstance(task, str) else task.name)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    # 16 kHz PCM: the rate the anchor's backchannel script assumes for every file (see fdbio).
    rate = recording.sample_rate
    fdbio.write_pcm16(dest / f"{prefix}input.wav", fdbio.pcm16(recording.user, rate))
    fdbio.write_pcm16(dest / f"{prefix}output.wav", fdbio.pcm16(recording.model, rate))
    if transcript is None:
        transcript = analyze_output(recording, vad=vad, asr=asr).transcript
    words = list(fmt.write(dest, recording, annotations, transcript))
    chunks = [{"text": w.text, "timestamp": [fdbio.t(w.start), fdbio.t(w.end)]} for w in words]
    doc = {"text": " ".join(w.text for w in words), "chunks": chunks}
    fdbio.write_json(dest / f"{prefix}{WORDS_FILE}", doc)
    return dest
