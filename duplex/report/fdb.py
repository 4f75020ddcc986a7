"""Full-Duplex-Bench sample folders in and out.

In: :func:`score_fdb_folder` scores a folder of Full-Duplex-Bench v1 samples with our task scorers.
Out: :func:`export_fdb_session` writes one of our sessions as such a sample, so the anchor's own
scripts can score it.

The layout (one folder per sample, times in seconds on the ``input.wav`` timeline)::

    ROOT/                           a task's folder, e.g. candor_turn_taking/
      icc_gt_distribution.json      backchannel only: {sample name: [ground-truth distribution]}
      SAMPLE/
        input.wav                   user side
        output.wav                  model side, time-synchronous with input.wav
        output.json                 optional ASR words: {"text", "chunks": [{"text",
                                    "timestamp": [start, end]}]}; our ASR runs when absent
        pause.json                  pause_handling: [{"text": "[PAUSE]", "timestamp": [s, e]}, ...]
        turn_taking.json            turn_taking: [{"timestamp": [end of the user turn, ...]}]
        interrupt.json              user_interruption: [{"timestamp": [s, e], "context": str,
                                    "interrupt": str}]  (or v1.5 metadata.json: "timestamps",
                                    "context_text", "current_turn_text")
        backchannel.json            backchannel, ours (the anchor has no per-sample file):
                                    {"reference": [{"t": s, "weight": w}, ...],
                                     "bin_s": 0.2, "distribution": [...]}

Backchannel ground truth: the anchor keeps one ``icc_gt_distribution.json`` per task folder,
keyed by sample folder name (looked up like the anchor: the exact name, else the number in the
name minus one; unlike the anchor we do not fall back to sample "0" when both miss - that would
silently score against another sample's truth). Our ``backchannel.json`` carries the reference
points our own divergence needs; a sample needs at least one of the two.

Output length: the anchor's clients pad or truncate the output to the input length; here the
output's own timeline is kept (the anchor's backchannel figures use the output's duration) and the
input is padded or truncated to it, the difference being recorded per row.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from duplex.audio import fit_length, read_wav, write_wav
from duplex.errors import ConfigError, DuplexError, ScenarioError
from duplex.metrics import TASKS, analyze_output, summarize
from duplex.metrics.backchannel import BIN_S, reference_points, span_distribution
from duplex.metrics.tasks import Task
from duplex.metrics.user_interruption import interruption, resolved
from duplex.scenarios.base import Annotations, Span, SpeechSpan
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word

#: Our task name -> the sample's annotation file.
TASK_FILES = {
    "pause_handling": "pause.json",
    "turn_taking": "turn_taking.json",
    "user_interruption": "interrupt.json",
    "backchannel": "backchannel.json",
}
V15_METADATA = "metadata.json"
GT_DISTRIBUTION = "icc_gt_distribution.json"
WORDS_FILE = "output.json"


@dataclass
class FdbResults:
    """Per-sample rows (``status`` "ok" with ``metrics``/``details``, or "failed" with
    ``reason``) and a summary shaped like a run's ``summary.json``."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


# ---------------------------------------------------------------------------------------- in


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: not readable JSON ({exc})") from exc


def _number(x: Any, path: Path, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise ScenarioError(f"{path}: {field} must be a finite number, got {x!r}")
    return float(x)


def _span(entry: Any, path: Path, field: str) -> tuple[float, float]:
    if not isinstance(entry, list | tuple) or len(entry) < 2:
        raise ScenarioError(f"{path}: {field} must be a list [start, end], got {entry!r}")
    a, b = _number(entry[0], path, f"{field}[0]"), _number(entry[1], path, f"{field}[1]")
    if b < a:
        raise ScenarioError(f"{path}: {field} ends before it starts ({a} > {b})")
    return a, b


def _entries(doc: Any, path: Path, *, at_least: int = 1) -> list[dict[str, Any]]:
    if not isinstance(doc, list) or len(doc) < at_least:
        raise ScenarioError(f"{path}: expected a list of at least {at_least} object(s)")
    for i, e in enumerate(doc):
        if not isinstance(e, dict):
            raise ScenarioError(f"{path}: entry [{i}] must be an object, got {e!r}")
    return doc


def _text(d: dict[str, Any], key: str, path: Path, field: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise ScenarioError(f"{path}: {field} must be a string, got {v!r}")
    return v


def read_words(path: Path) -> Transcript:
    """The anchor's ``output.json``; chunks without a start time are skipped (as the anchor's ASR
    step does), a missing end is taken as the start."""
    doc = _load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("chunks"), list):
        raise ScenarioError(f"{path}: expected an object with a 'chunks' list")
    words: list[Word] = []
    for i, c in enumerate(doc["chunks"]):
        where = f"chunks[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("timestamp"), list | tuple):
            raise ScenarioError(f"{path}: {where} must be an object with a 'timestamp' list")
        ts = [*c["timestamp"], None, None]
        if ts[0] is None:
            continue
        start = _number(ts[0], path, f"{where}.timestamp[0]")
        end = start if ts[1] is None else _number(ts[1], path, f"{where}.timestamp[1]")
        word = _text(c, "text", path, f"{where}.text").strip()
        if word:
            words.append(Word(start, max(start, end), word, 1.0))
    full = doc.get("text")
    return Transcript(
        full if isinstance(full, str) else " ".join(w.text for w in words), tuple(words)
    )


def _gt_lookup(gt: dict[str, Any], name: str, path: Path) -> list[float] | None:
    key: str | None = name if name in gt else None
    if key is None and (m := re.search(r"\d+", name)) and str(int(m.group()) - 1) in gt:
        key = str(int(m.group()) - 1)
    if key is None:
        return None
    dist = gt[key]
    if not isinstance(dist, list) or not dist:
        raise ScenarioError(f"{path}: entry {key!r} must be a non-empty list of numbers")
    return [_number(v, path, f"{key}[{i}]") for i, v in enumerate(dist)]


def read_annotations(folder: Path, task: str, gt: dict[str, Any] | None = None) -> Annotations:
    """The sample's annotation file as our :class:`Annotations` (see the module doc)."""
    if task == "pause_handling":
        path = folder / TASK_FILES[task]
        doc = _entries(_load_json(path), path, at_least=0)
        pauses = [_span(e.get("timestamp"), path, f"[{i}].timestamp") for i, e in enumerate(doc)]
        return Annotations(speech=(), pauses=tuple(Span(a, b) for a, b in pauses))
    if task == "turn_taking":
        path = folder / TASK_FILES[task]
        doc = _entries(_load_json(path), path)
        ts = doc[0].get("timestamp")
        if not isinstance(ts, list | tuple) or not ts:
            raise ScenarioError(f"{path}: [0].timestamp must be a list [end of turn, ...]")
        end = _number(ts[0], path, "[0].timestamp[0]")
        return Annotations(speech=(SpeechSpan(0.0, end, ""),))
    if task == "user_interruption":
        path = folder / TASK_FILES[task]
        if path.exists() or not (folder / V15_METADATA).exists():
            e = _entries(_load_json(path), path)[0]
            start, end = _span(e.get("timestamp"), path, "[0].timestamp")
            context = _text(e, "context", path, "[0].context")
            text = _text(e, "interrupt", path, "[0].interrupt")
            trigger = e.get("trigger") if isinstance(e.get("trigger"), str) else "fixed"
        else:
            path = folder / V15_METADATA
            d = _load_json(path)
            if not isinstance(d, dict):
                raise ScenarioError(f"{path}: expected an object")
            start, end = _span(d.get("timestamps"), path, "timestamps")
            context = _text(d, "context_text", path, "context_text")
            text = _text(d, "current_turn_text", path, "current_turn_text")
            trigger = "fixed"
        cue = {
            "name": "interrupt",
            "start": start,
            "end": end,
            "text": text,
            "trigger": trigger,
            "model_onset": None,
        }
        extra = {"interrupt": {"text": text, "context": context}, "cues": [cue]}
        return Annotations(speech=(), extra=extra)
    if task == "backchannel":
        return _backchannel_annotations(folder, gt)
    raise ConfigError(f"no FDB annotation format for task {task!r}")


def _backchannel_annotations(folder: Path, gt: dict[str, Any] | None) -> Annotations:
    path = folder / TASK_FILES["backchannel"]
    extra: dict[str, Any] = {}
    if path.exists():
        d = _load_json(path)
        if not isinstance(d, dict):
            raise ScenarioError(f"{path}: expected an object")
        points = d.get("reference", [])
        if not isinstance(points, list):
            raise ScenarioError(f"{path}: reference must be a list of {{t, weight}}")
        ref = []
        for i, p in enumerate(points):
            if not isinstance(p, dict):
                raise ScenarioError(f"{path}: reference[{i}] must be an object {{t, weight}}")
            ref.append(
                {
                    "t": _number(p.get("t"), path, f"reference[{i}].t"),
                    "weight": _number(p.get("weight", 1.0), path, f"reference[{i}].weight"),
                }
            )
        extra["backchannel_reference"] = ref
        if "distribution" in d:
            dist = d["distribution"]
            if not isinstance(dist, list) or not dist:
                raise ScenarioError(f"{path}: distribution must be a non-empty list of numbers")
            extra["backchannel_distribution"] = [
                _number(v, path, f"distribution[{i}]") for i, v in enumerate(dist)
            ]
    if gt is not None:
        given = _gt_lookup(gt, folder.name, folder.parent / GT_DISTRIBUTION)
        if given is not None:
            extra["backchannel_distribution"] = given  # the anchor's truth wins for its figure
    if not extra.get("backchannel_reference") and not extra.get("backchannel_distribution"):
        raise ScenarioError(
            f"{folder}: no backchannel reference: neither {TASK_FILES['backchannel']} nor an "
            f"entry {folder.name!r} in {folder.parent / GT_DISTRIBUTION}"
        )
    return Annotations(speech=(), extra=extra)


def load_fdb_sample(
    folder: Path, task: str, gt: dict[str, Any] | None = None
) -> tuple[Recording, Annotations, Transcript | None, dict[str, Any]]:
    """A sample folder as (recording on the output's timeline, annotations, the words of
    ``output.json`` or None, notes)."""
    model, rate = read_wav(folder / "output.wav")
    notes: dict[str, Any] = {}
    if (folder / "input.wav").exists():
        user, _ = read_wav(folder / "input.wav", rate=rate)
        notes["input_length_mismatch_s"] = round((user.size - model.size) / rate, 4)
        user = fit_length(user, model.size)
    else:
        user = np.zeros(model.size, np.float32)
        notes["input"] = "missing"
    annotations = read_annotations(folder, task, gt)
    words = read_words(folder / WORDS_FILE) if (folder / WORDS_FILE).exists() else None
    recording = Recording(rate, user, model, annotations=annotations)
    return recording, annotations, words, notes


def _natural_key(p: Path) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name))


def _is_sample(p: Path, task: str) -> bool:
    names = ("output.wav", "input.wav", TASK_FILES[task], V15_METADATA)
    return p.is_dir() and not p.name.startswith(".") and any((p / n).exists() for n in names)


def sample_folders(root: Path, task: str) -> list[Path]:
    """The sample folders under ``root`` (natural order), or ``[root]`` if it is one itself."""
    if not root.is_dir():
        raise ScenarioError(f"{root}: no such folder")
    if (root / "output.wav").exists():
        return [root]
    folders = sorted((p for p in root.iterdir() if _is_sample(p, task)), key=_natural_key)
    if not folders:
        raise ScenarioError(
            f"{root}: no sample folders (subfolders with output.wav, input.wav or "
            f"{TASK_FILES[task]})"
        )
    return folders


def _task(task: str) -> Task:
    if task not in TASK_FILES:
        raise ConfigError(f"unknown FDB task {task!r} (available: {', '.join(sorted(TASK_FILES))})")
    return TASKS.get(task)


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
    spec = _task(task)
    folders = sample_folders(root, task)
    gt: dict[str, Any] | None = None
    if task == "backchannel" and (root / GT_DISTRIBUTION).exists():
        doc = _load_json(root / GT_DISTRIBUTION)
        if not isinstance(doc, dict):
            raise ScenarioError(f"{root / GT_DISTRIBUTION}: expected an object keyed by sample")
        gt = doc
    rows: list[dict[str, Any]] = []
    for folder in folders:
        try:
            rows.append(_score_sample(folder, task, spec, gt, vad, asr))
        except DuplexError as exc:
            rows.append({"item_id": folder.name, "status": "failed", "reason": str(exc)})
    return FdbResults(rows, _summary(root, spec, rows, vad, asr, seed))


def _score_sample(
    folder: Path, task: str, spec: Task, gt: dict[str, Any] | None, vad: str, asr: str
) -> dict[str, Any]:
    recording, annotations, words, notes = load_fdb_sample(folder, task, gt)
    analysis = analyze_output(recording, vad=vad, asr=None if words is not None else asr)
    if words is not None:
        analysis = replace(analysis, transcript=words, asr_backend=WORDS_FILE)
    row: dict[str, Any] = {
        "item_id": folder.name,
        "status": "ok",
        "duration_s": round(recording.duration, 4),
        "words_from": WORDS_FILE if words is not None else asr,
        "metrics": spec.score(recording, annotations, analysis),
        "transcript": analysis.transcript.text,
        **notes,
    }
    if spec.details is not None:
        row["details"] = spec.details(recording, annotations, analysis)
    return row


def _summary(
    root: Path, spec: Task, rows: list[dict[str, Any]], vad: str, asr: str, seed: int
) -> dict[str, Any]:
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] == "failed"]
    sources = Counter(r["words_from"] for r in ok)
    words = " + ".join(f"{k} ({n})" for k, n in sorted(sources.items())) if sources else asr
    keys = sorted({k for r in ok for k in r["metrics"]})
    return {
        "suite": f"fdb:{root.name}",
        "suite_version": "-",
        "task": spec.name,
        "task_version": spec.version,
        "root": str(root),
        "model": "outputs in the folder",
        "clock": "offline",
        "backends": {"vad": vad, "asr": words},
        "items": {"planned": len(rows), "ok": len(ok), "failed": len(failed)},
        "complete": True,
        "headline": [{"key": k, "label": lab, "better": d} for k, lab, d in spec.headline],
        "metrics": summarize([r["metrics"] for r in ok], keys, seed=seed),
        "failures": [{"item_id": r["item_id"], "reason": r["reason"]} for r in failed],
    }


# --------------------------------------------------------------------------------------- out


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)


def _r(x: float) -> float:
    return round(float(x), 6)


def export_fdb_session(
    dest: Path,
    recording: Recording,
    annotations: Annotations,
    task: str,
    transcript: Transcript | None = None,
    *,
    vad: str = "silero",
    asr: str = "faster-whisper-tiny.en",
) -> Path:
    """Write one session as a Full-Duplex-Bench sample folder ``dest`` and return it.

    ``input.wav``/``output.wav`` at the session rate, 16-bit; the task's annotation file in the
    anchor's format (from ``annotations``, the item's; for user_interruption from the annotations
    as they happened, ``recording.annotations``, when set, as the scorer does); and
    ``output.json`` from ``transcript`` (our ASR of the output when None). For user_interruption
    ``output.json`` holds only the words from the end of the interruption on, as the anchor's ASR
    step (which crops there) would. For backchannel the reference goes to our ``backchannel.json``
    and, in the anchor's span form, into ``dest.parent/icc_gt_distribution.json`` under
    ``dest.name`` (merged with the entries already there).
    """
    _task(task)
    dest = Path(dest)
    ann = resolved(recording, annotations) if task == "user_interruption" else annotations
    dest.mkdir(parents=True, exist_ok=True)
    write_wav(dest / "input.wav", recording.user, recording.sample_rate)
    write_wav(dest / "output.wav", recording.model, recording.sample_rate)
    if transcript is None:
        transcript = analyze_output(recording, vad=vad, asr=asr).transcript
    words = list(transcript.words)
    if task == "pause_handling":
        doc: Any = [{"text": "[PAUSE]", "timestamp": [_r(p.start), _r(p.end)]} for p in ann.pauses]
        _write_json(dest / TASK_FILES[task], doc)
    elif task == "turn_taking":
        doc = [{"text": "[TURN-TAKING]", "timestamp": [_r(ann.turn_end), _r(recording.duration)]}]
        _write_json(dest / TASK_FILES[task], doc)
    elif task == "user_interruption":
        cue = interruption(ann)
        if cue is None:
            raise ScenarioError(f"{dest}: the session has no resolved interruption to export")
        static = ann.extra.get("interrupt") or {}
        doc = [
            {
                "text": "[INTERRUPT]",
                "timestamp": [_r(cue["start"]), _r(cue["end"])],
                "context": static.get("context") or ann.text,
                "interrupt": cue.get("text") or static.get("text", ""),
                "trigger": cue.get("trigger"),  # ours; the anchor reads only the fields above
            }
        ]
        _write_json(dest / TASK_FILES[task], doc)
        words = [w for w in words if w.start >= cue["end"]]
    elif task == "backchannel":
        _export_backchannel(dest, recording, ann)
    chunks = [{"text": w.text, "timestamp": [_r(w.start), _r(w.end)]} for w in words]
    _write_json(dest / WORDS_FILE, {"text": " ".join(w.text for w in words), "chunks": chunks})
    return dest


def _export_backchannel(dest: Path, recording: Recording, ann: Annotations) -> None:
    points = reference_points(ann)
    given = ann.extra.get("backchannel_distribution")
    if given:
        dist = [float(v) for v in given]
    elif points:
        dist = span_distribution(points, recording.duration).tolist()
    else:
        raise ScenarioError(f"{dest}: the session has no backchannel reference to export")
    doc = {
        "reference": [{"t": _r(t), "weight": _r(w)} for t, w in points],
        "bin_s": BIN_S,
        "distribution": [_r(v) for v in dist],
    }
    _write_json(dest / TASK_FILES["backchannel"], doc)
    gt_path = dest.parent / GT_DISTRIBUTION
    gt = _load_json(gt_path) if gt_path.exists() else {}
    if not isinstance(gt, dict):
        raise ScenarioError(f"{gt_path}: expected an object keyed by sample")
    gt[dest.name] = doc["distribution"]
    _write_json(gt_path, gt)
