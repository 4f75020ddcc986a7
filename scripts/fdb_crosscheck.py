"""Cross-check: Full-Duplex-Bench's own evaluation scripts against ours, on the same folders.

    PYTHONPATH=. .venv/bin/python scripts/fdb_crosscheck.py --fdb-repo FDB_CHECKOUT \
        --python FDB_VENV/bin/python [FOLDER ...] [--run RUN_DIR ...] [--stage] [--timing]
        [--vad] [--no-per-item] [--json FILE]

Each FOLDER is one task's folder of FDB sample folders (what ``run --export-fdb`` writes); the
task is told by the annotation files (``pause.json``, ``turn_taking.json``, ``interrupt.json``,
else backchannel). ``--run RUN_DIR`` adds the export recorded in a run folder of ours
(``run.json`` config ``export_fdb``) and a column with the run's own figures.

For every folder, three computations of the anchor's figures are set side by side:

- **FDB**: the anchor's scripts, *unchanged*, run by ``--python`` (a separate venv with their
  dependencies; see the notes) through their documented entry point ``evaluate.py --task ...``,
  once on the whole folder and, unless ``--no-per-item``, once per sample (a folder holding just
  that sample) for per-item figures their output does not print. Nothing of theirs is imported
  here: they run as subprocesses on a copy of the folder in a temp dir (their interruption script
  writes ``rating.json`` into each sample, ``get_timing.py`` writes ``latency_intervals.json``,
  the backchannel script reads ``./icc_gt_distribution.json`` from its working directory, which
  is therefore the copied folder).
- **score**: ``duplex-bench score --fdb`` on the same copy (our task scorers' FDB-named keys).
- **rules**: :mod:`duplex.metrics.fdb_rules` with :mod:`duplex.speech.fdb_vad` on the same files.

Offline stand-ins, none of which changes their code: the interruption script asks an OpenAI
judge for a 0-5 rating of every TO = 1 sample before it records the latency, so a local
OpenAI-compatible server on 127.0.0.1 answers every request with a fixed rating of 3 (their
``OPENAI_API_KEY``/``OPENAI_BASE_URL`` are overridden for the child only, so a key in their
``.env`` is never used; the rating column is meaningless and not compared). ``get_timing.py``
loads Silero through ``torch.hub``; a hub cache entry whose ``hubconf.py`` hands out the
``silero-vad`` package's model is put in a temp ``TORCH_HOME``.

``--stage`` adapts a backchannel folder to what the anchor's script can read before running
anything: sample folders renamed to digits (natural order, from 1; the script skips other names)
and the ground-truth keys renamed with them. Without it the folder is used as exported, which
documents what a user gets today. ``--timing`` also runs v1.5 ``get_timing.py`` on folders whose
samples have ``input.wav`` and ``output.wav`` and compares its intervals with
:func:`duplex.metrics.fdb_rules.timing`. ``--vad`` compares our Silero run the anchor's way
(:mod:`duplex.speech.fdb_vad`) with ``silero_vad.get_speech_timestamps`` in their venv on every
``output.wav`` (and ``input.wav``), in both of the anchor's call forms, and prints the largest
difference in seconds.

Their venv (outside this repository; their requirements pin neither silero-vad nor torch, and
silero-vad 6.0/6.1 carry the model we embed, so 6.1.0 is pinned here)::

    python3.11 -m venv FDB_VENV
    FDB_VENV/bin/pip install torch==2.13.0
    echo 'torch==2.13.0' > pin.txt
    FDB_VENV/bin/pip install -c pin.txt numpy scipy tqdm soundfile packaging openai python-dotenv
    FDB_VENV/bin/pip install --no-deps silero-vad==6.1.0 torchaudio==2.8.0
    rm FDB_VENV/lib/python3.11/site-packages/torchaudio/lib/*.so   # a CUDA build; unused here

torchaudio 2.8 still reads wavs through soundfile in pure Python, and the scripts use only its
``load`` and ``functional.resample``; its C++ extension is a CUDA build that does not load on a
CPU machine, hence removed.

Figures are compared at 1e-6. Backchannel frequency: the anchor prints its means with 4
decimals, so the per-item figure is its printed prediction count over the file's duration (its
own formula); the folder figure is then the mean of the per-item ones (``np.mean``, as it does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from duplex.audio import read_wav
from duplex.bench.base import emit
from duplex.metrics import fdb_rules as rules
from duplex.speech import fdb_vad

TOL = 1e-6
GT_FILE = "icc_gt_distribution.json"
FDB_TASK = {  # ours -> evaluate.py --task
    "pause_handling": "pause_handling",
    "turn_taking": "smooth_turn_taking",
    "user_interruption": "user_interruption",
    "backchannel": "backchannel",
}
#: Per task: (metric, our score --fdb key).
METRICS = {
    "pause_handling": [("TOR", "tor_fdb")],
    "turn_taking": [("TOR", "tor_fdb"), ("latency", "latency_fdb_s")],
    "user_interruption": [("TOR", "tor_fdb"), ("latency", "latency_fdb_s")],
    "backchannel": [
        ("TOR", "tor_fdb"),
        ("frequency", "frequency_fdb"),
        ("JSD", "jsd_fdb"),
    ],
}
Figures = dict[str, float | None]


@dataclass
class Check:
    folder: Path
    task: str
    items: list[str]
    fdb: Figures = field(default_factory=dict)
    fdb_items: dict[str, Figures] = field(default_factory=dict)
    score: Figures = field(default_factory=dict)
    score_items: dict[str, Figures] = field(default_factory=dict)
    rules: Figures = field(default_factory=dict)
    rules_items: dict[str, Figures] = field(default_factory=dict)
    run: Figures | None = None
    run_items: dict[str, Figures] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # staged name -> exported name


# ------------------------------------------------------------------------------ folders


def natural(name: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def sample_dirs(root: Path) -> list[Path]:
    found = [
        p
        for p in root.iterdir()
        if p.is_dir() and ((p / "output.wav").exists() or (p / "output.json").exists())
    ]
    return sorted(found, key=lambda p: natural(p.name))


def detect_task(root: Path) -> str:
    for name, task in (
        ("pause.json", "pause_handling"),
        ("turn_taking.json", "turn_taking"),
        ("interrupt.json", "user_interruption"),
    ):
        if any((p / name).exists() for p in sample_dirs(root)):
            return task
    return "backchannel"


def stage(src: Path, dest: Path, task: str, adapt: bool) -> dict[str, str]:
    """Copy ``src`` to ``dest``; with ``adapt`` (backchannel only) rename the samples to digits
    and the ground-truth keys with them. Returns {name in dest: name in src}."""
    shutil.copytree(src, dest)
    names = {p.name: p.name for p in sample_dirs(dest)}
    if not (adapt and task == "backchannel"):
        return names
    gt_path = dest / GT_FILE if (dest / GT_FILE).exists() else src.parent / GT_FILE
    gt = json.loads(gt_path.read_text()) if gt_path.exists() else {}
    renamed: dict[str, Any] = {}
    moves = []
    for i, d in enumerate(sample_dirs(dest), start=1):
        if d.name in gt:
            renamed[str(i)] = gt[d.name]
        moves.append((d.rename(dest / f".stage-{i}"), dest / str(i)))
    for held, final in moves:
        held.rename(final)
    (dest / GT_FILE).write_text(json.dumps(renamed))
    return {str(i): name for i, name in enumerate(names, start=1)}


def only(sample: Path, dest: Path) -> Path:
    """A root holding just ``sample`` (and the ground truth beside it), for per-item runs."""
    dest.mkdir(parents=True)
    shutil.copytree(sample, dest / sample.name)
    if (sample.parent / GT_FILE).exists():
        shutil.copy(sample.parent / GT_FILE, dest / GT_FILE)
    return dest


# ----------------------------------------------------------------- offline stand-ins


class _Judge(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint answering every rating request with the same verdict."""

    def _send(self, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": []})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        text = "Analysis: fixed stand-in verdict.\nI would rate the AI's response as 3."
        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        self._send(
            {
                "id": "crosscheck",
                "object": "chat.completion",
                "created": 0,
                "model": "stand-in",
                "choices": [{**choice, "finish_reason": "stop"}],
            }
        )

    def log_message(self, *args: Any) -> None:  # quiet
        del args


@contextlib.contextmanager
def judge_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Judge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


HUBCONF = '''"""Offline torch.hub entry for snakers4/silero-vad, from the silero-vad package."""
dependencies = ["torch"]


def silero_vad(onnx=False, **kwargs):
    from silero_vad import load_silero_vad
    from silero_vad.utils_vad import (VADIterator, collect_chunks, get_speech_timestamps,
                                      read_audio, save_audio)
    utils = (get_speech_timestamps, save_audio, read_audio, VADIterator, collect_chunks)
    return load_silero_vad(onnx=onnx), utils
'''


def hub_home(tmp: Path) -> Path:
    repo = tmp / "torch_home" / "hub" / "snakers4_silero-vad_master"
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(HUBCONF)
    return tmp / "torch_home"


# ----------------------------------------------------------------------- running theirs


@dataclass
class Env:
    python: str
    evaluation: Path
    judge_url: str
    torch_home: Path

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        env.update(
            OPENAI_API_KEY="crosscheck-stand-in",
            OPENAI_BASE_URL=self.judge_url,
            TORCH_HOME=str(self.torch_home),
            OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
        )
        return env

    def run(self, script: str, args: list[str], cwd: Path) -> tuple[str, str]:
        """(stdout, error) of one of their scripts; error is "" on success."""
        cmd = [self.python, str(self.evaluation / script), *args]
        p = subprocess.run(
            cmd, cwd=cwd, env=self.child_env(), capture_output=True, text=True, timeout=1800
        )
        err = "" if p.returncode == 0 else (p.stderr.strip().splitlines() or ["?"])[-1]
        return p.stdout, err


def _float(text: str, pattern: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def fdb_figures(task: str, out: str) -> Figures:
    """The folder figures their script printed (full precision, except backchannel: 4)."""
    if task == "backchannel":
        num = r"(-?(?:nan|inf|[\d.]+))"
        return {
            "TOR": _float(out, rf"TOR - Mean: {num}"),
            "frequency": _float(out, rf"Frequency - Mean: {num}"),
            "JSD": _float(out, rf"JSD - Mean: {num}"),
            "n": _float(out, r"Number of samples: (\d+)"),
        }
    figs = {"TOR": _float(out, r"Average take turn:\s+(\S+)")}
    if task in ("turn_taking", "user_interruption"):
        figs["latency"] = _float(out, r"Average latency:\s+(\S+)")
    return figs


def fdb_backchannel_item(out: str, duration: float) -> Figures:
    m = re.search(r"^JSD: (\S+)$", out, re.M)
    jsd = float(m.group(1)) if m else None
    pred = re.search(r"backchannel prediction is (\[.*\])", out)
    count = len(json.loads(pred.group(1))) if pred else None
    figs = fdb_figures("backchannel", out)
    return {
        "TOR": figs["TOR"],
        "frequency": None if count is None else count / duration,
        "JSD": jsd,
    }


def run_fdb(env: Env, check: Check, root: Path, tmp: Path, per_item: bool) -> None:
    args = ["--task", FDB_TASK[check.task], "--root_dir", str(root)]
    out, err = env.run("evaluate.py", args, cwd=root)
    if err:
        check.notes.append(f"FDB on the folder: {err}")
    check.fdb = fdb_figures(check.task, out)
    if check.task == "backchannel":
        n = check.fdb.pop("n", None)
        skipped = [p.name for p in sample_dirs(root) if not p.name.isdigit()]
        if skipped:
            check.notes.append(
                f"FDB scored {int(n or 0)} sample(s); skipped {len(skipped)} whose folder "
                f"names are not digits ({', '.join(skipped[:4])}...)"
            )
    if not per_item:
        return
    for sample in sample_dirs(root):
        one = only(sample, tmp / f"item-{sample.name}")
        out, err = env.run(
            "evaluate.py", ["--task", FDB_TASK[check.task], "--root_dir", str(one)], one
        )
        if check.task == "backchannel":
            figs = fdb_backchannel_item(out, _duration(sample / "output.wav"))
        else:
            figs = fdb_figures(check.task, out)
        if err:
            figs["error"] = None
            check.notes.append(f"FDB on {sample.name} alone: {err}")
        check.fdb_items[sample.name] = figs
    if check.task == "backchannel" and check.fdb_items:
        for metric in ("TOR", "frequency", "JSD"):
            vals = [f.get(metric) for f in check.fdb_items.values()]
            if vals and all(v is not None for v in vals):
                check.fdb[metric] = float(np.mean(vals))


def _duration(wav: Path) -> float:
    x, rate = read_wav(wav)
    return x.size / rate


# -------------------------------------------------------------------------- ours: score


def run_score(check: Check, root: Path, tmp: Path) -> None:
    out = tmp / "score.json"
    cmd = [sys.executable, "-m", "duplex", "score", "--fdb", str(root), "--task", check.task]
    p = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        check.notes.append(f"score --fdb: {p.stderr.strip().splitlines()[-1:]}")
        return
    doc = json.loads(out.read_text())
    for metric, key in METRICS[check.task]:
        check.score[metric] = (doc["summary"]["metrics"].get(key) or {}).get("mean")
    for row in doc["rows"]:
        m = row.get("metrics") or {}
        check.score_items[row["item_id"]] = {
            metric: m.get(key) for metric, key in METRICS[check.task]
        }


# -------------------------------------------------------------------------- ours: rules


def _stamps(sample: Path) -> list[rules.Stamp] | None:
    path = sample / "output.json"
    if not path.exists():
        return None
    chunks = json.loads(path.read_text())["chunks"]
    return [(c["timestamp"][0], c["timestamp"][1]) for c in chunks]


def rules_item(task: str, sample: Path, gt: dict[str, Any]) -> Figures:
    stamps = _stamps(sample)
    if task == "backchannel":
        x, rate = read_wav(sample / "output.wav")
        segments, duration = fdb_vad.backchannel_segments(x, rate)
        if stamps is None:  # the anchor keeps the previous sample's TO here
            return {"TOR": None, "frequency": 0.0, "JSD": rules.NO_BACKCHANNEL_JSD}
        bc = rules.backchannel_sample(segments, stamps, duration)
        jsd = None
        if not bc.predictions:
            jsd = rules.NO_BACKCHANNEL_JSD
        elif sample.name in gt:
            jsd = rules.backchannel_jsd(bc.predictions, duration, gt[sample.name])
        return {"TOR": float(bc.to), "frequency": bc.frequency, "JSD": jsd}
    if stamps is None:
        return {}
    if task == "pause_handling":
        return {"TOR": float(rules.takeover(stamps))}
    if task == "turn_taking":
        event = json.loads((sample / "turn_taking.json").read_text())[0]["timestamp"][0]
    else:
        event = json.loads((sample / "interrupt.json").read_text())[0]["timestamp"][1]
    tt = rules.take_turn(stamps, event)
    return {"TOR": float(tt.to), "latency": tt.clipped}


def run_rules(check: Check, root: Path) -> None:
    gt_path = root / GT_FILE
    gt = json.loads(gt_path.read_text()) if gt_path.exists() else {}
    samples = sample_dirs(root)
    if check.task == "backchannel":  # the anchor's script only reads digit-named folders
        samples = [s for s in samples if s.name.isdigit()]
    for sample in samples:
        try:
            check.rules_items[sample.name] = rules_item(check.task, sample, gt)
        except Exception as exc:  # a figure the anchor cannot compute either: shown, not fatal
            check.notes.append(f"rules on {sample.name}: {exc}")
    items = list(check.rules_items.values())
    for metric, _key in METRICS[check.task]:
        vals = [f[metric] for f in items if f.get(metric) is not None]
        if metric == "latency":
            check.rules[metric] = rules.mean(vals) if vals else None
        elif check.task == "backchannel":
            check.rules[metric] = float(np.mean(vals)) if vals else None
        else:
            check.rules[metric] = rules.mean(vals) if vals else None


# ---------------------------------------------------------------------- ours: the run


def run_figures(check: Check, run_dir: Path) -> None:
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    check.run = {}
    for metric, key in METRICS[check.task]:
        vals = [r["metrics"][key] for r in rows if r.get("status") == "ok"]
        vals = [v for v in vals if v is not None]
        check.run[metric] = float(np.mean(vals)) if vals else None
    map_path = check.folder.parent / "fdb_map.json"
    names = json.loads(map_path.read_text()).get(check.task, {}) if map_path.exists() else {}
    sample_of = {item: sample for sample, item in names.items()}
    for r in rows:
        m = r.get("metrics") or {}
        name = sample_of.get(r["item_id"], r["item_id"])
        check.run_items[name] = {metric: m.get(key) for metric, key in METRICS[check.task]}


# ----------------------------------------------------------------------- v1.5 timing


def check_timing(env: Env, src: Path, tmp: Path) -> list[str]:
    """get_timing.py on a copy; its intervals against fdb_rules.timing on fdb_vad segments."""
    root = tmp / "timing"
    shutil.copytree(src, root)
    _out, err = env.run("get_timing.py", ["--root_dir", str(root)], cwd=root)
    lines = [f"v1.5 timing (get_timing.py) on {src}:" + (f" FAILED: {err}" if err else "")]
    worst, n_lists, equal = 0.0, 0, 0
    for sample in sample_dirs(root):
        path = sample / "latency_intervals.json"
        if not path.exists() or not (sample / "input.wav").exists():
            continue
        theirs = json.loads(path.read_text())
        u, ur = read_wav(sample / "input.wav")
        m, mr = read_wav(sample / "output.wav")
        ours = rules.timing(fdb_vad.timing_segments(u, ur), fdb_vad.timing_segments(m, mr))
        for key in ("latency_stop_list", "latency_resp_list"):
            n_lists += 1
            a, b = theirs[key], ours[key]
            same_shape = len(a) == len(b)
            diff = (
                max(
                    (
                        abs(x - y)
                        for p, q in zip(a, b, strict=True)
                        for x, y in zip(p, q, strict=True)
                    ),
                    default=0.0,
                )
                if same_shape
                else math.inf
            )
            worst = max(worst, diff)
            equal += int(diff <= TOL)
            lines.append(f"  {sample.name} {key}: FDB {a}  rules {b}  max |diff| {diff:.6g}")
    lines.append(f"  {equal}/{n_lists} interval lists equal to {TOL:g}; max |diff| {worst:.6g} s")
    return lines


# ------------------------------------------------------------------------- VAD check

PROBE = r"""
import json, sys, torch, torchaudio
from silero_vad import load_silero_vad, get_speech_timestamps
model = load_silero_vad()
out = {}
for path in sys.argv[1:]:
    wav, sr = torchaudio.load(path)
    bc = get_speech_timestamps(wav, model, return_seconds=True)
    w16 = torchaudio.functional.resample(wav, sr, 16000) if sr != 16000 else wav
    t = get_speech_timestamps(w16.squeeze(0), model, sampling_rate=16000)
    out[path] = {"backchannel": [[d["start"], d["end"]] for d in bc],
                 "timing": [[d["start"] / 16000, d["end"] / 16000] for d in t]}
print(json.dumps(out))
"""


def check_vad(env: Env, folders: list[Path]) -> list[str]:
    """silero_vad in their venv (the anchor's two call forms) against fdb_vad, per file."""
    wavs = [str(w) for f in folders for s in sample_dirs(f) for w in sorted(s.glob("*put.wav"))]
    p = subprocess.run(
        [env.python, "-c", PROBE, *wavs], capture_output=True, text=True, env=env.child_env()
    )
    if p.returncode != 0:
        return [f"VAD check failed: {p.stderr.strip().splitlines()[-1:]}"]
    theirs = json.loads(p.stdout.strip().splitlines()[-1])
    worst = {"backchannel": 0.0, "timing": 0.0}
    same = {"backchannel": 0, "timing": 0}
    for path, forms in theirs.items():
        x, rate = read_wav(path)
        ours = {
            "backchannel": fdb_vad.backchannel_segments(x, rate)[0],
            "timing": fdb_vad.timing_segments(x, rate),
        }
        for form, segs in forms.items():
            mine = ours[form]
            if len(mine) != len(segs):
                worst[form] = math.inf
                continue
            d = max(
                (
                    abs(a - b)
                    for s, t in zip(segs, mine, strict=True)
                    for a, b in zip(s, t, strict=True)
                ),
                default=0.0,
            )
            worst[form] = max(worst[form], d)
            same[form] += int(d <= TOL)
    n = len(theirs)
    return [
        f"VAD ({n} files, silero-vad in their venv vs duplex.speech.fdb_vad):",
        f"  backchannel form (file samples as 16 kHz, 0.1 s rounding): {same['backchannel']}/{n} "
        f"files identical, max |diff| {worst['backchannel']:.6g} s",
        f"  timing form (resampled to 16 kHz, unrounded): {same['timing']}/{n} files within "
        f"{TOL:g}, max |diff| {worst['timing']:.6g} s",
    ]


# ------------------------------------------------------------------------------ table


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.6f}"


def _compare(a: float | None, b: float | None) -> tuple[str, str]:
    """(|diff|, equal to TOL) of the anchor's figure ``a`` and one of ours ``b``."""
    if a is None and b is None:
        return "-", "n/a"
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return "-", "no"
    if math.isinf(a) or math.isinf(b):
        return ("0", "yes") if a == b else ("inf", "no")
    d = abs(a - b)
    return f"{d:.2e}", "yes" if d <= TOL else "no"


def _row(metric: str, item: str, fdb: Figures, *ours: Figures | None) -> list[str]:
    a = fdb.get(metric)
    cells = [metric, item, _fmt(a)]
    for figs in ours:
        if figs is None:
            continue
        b = figs.get(metric)
        cells += [_fmt(b), *_compare(a, b)]
    return cells


def format_check(c: Check) -> str:
    run = c.run is not None
    head = ["metric", "item", "FDB", "score --fdb", "|diff|", "eq", "fdb_rules", "|diff|", "eq"]
    if run:
        head += ["run", "|diff|", "eq"]
    table = [head]
    for metric, _key in METRICS[c.task]:
        table.append(_row(metric, "(all)", c.fdb, c.score, c.rules, c.run))
    for item in sorted(set(c.fdb_items) | set(c.score_items), key=natural):
        orig = c.names.get(item, item)
        run_item = c.run_items.get(orig, {}) if run else None
        for metric, _key in METRICS[c.task]:
            fdb = c.fdb_items.get(item, {})
            table.append(
                _row(
                    metric,
                    orig,
                    fdb,
                    c.score_items.get(item, {}),
                    c.rules_items.get(item, {}),
                    run_item,
                )
            )
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = [f"== {c.task}: {c.folder} ({len(c.items)} samples) =="]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
    lines += [f"note: {n}" for n in c.notes]
    return "\n".join(lines)


def as_json(c: Check) -> dict[str, Any]:
    return {
        "folder": str(c.folder),
        "task": c.task,
        "fdb": c.fdb,
        "score": c.score,
        "rules": c.rules,
        "run": c.run,
        "items": {
            c.names.get(i, i): {
                "fdb": c.fdb_items.get(i),
                "score": c.score_items.get(i),
                "rules": c.rules_items.get(i),
                "run": c.run_items.get(c.names.get(i, i)),
            }
            for i in sorted(set(c.fdb_items) | set(c.score_items), key=natural)
        },
        "notes": c.notes,
    }


# ------------------------------------------------------------------------------- main


def check_folder(
    env: Env, folder: Path, tmp: Path, args: argparse.Namespace, run_dir: Path | None
) -> Check:
    task = detect_task(folder)
    root = tmp / "staged"
    names = stage(folder, root, task, args.stage)
    check = Check(folder, task, sorted(names, key=natural), names=names)
    run_fdb(env, check, root, tmp, per_item=not args.no_per_item)
    scored = tmp / "for-score"
    shutil.copytree(root, scored)  # their scripts may have written into ``root``
    run_score(check, scored, tmp)
    run_rules(check, scored)
    if run_dir is not None:
        run_figures(check, run_dir)
    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("folders", nargs="*", type=Path, help="task folders of FDB samples")
    parser.add_argument("--fdb-repo", type=Path, required=True, help="a checkout of FDB")
    parser.add_argument("--python", required=True, help="the interpreter of FDB's venv")
    parser.add_argument(
        "--run", type=Path, action="append", default=[], help="a run folder of ours"
    )
    parser.add_argument("--stage", action="store_true", help="adapt backchannel folder names")
    parser.add_argument("--timing", action="store_true", help="also v1.5 get_timing.py")
    parser.add_argument("--vad", action="store_true", help="also compare Silero segments")
    parser.add_argument("--no-per-item", action="store_true", help="only whole-folder runs")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    evaluation = args.fdb_repo / "v1_v1.5" / "evaluation"
    if not (evaluation / "evaluate.py").is_file():
        parser.error(f"{args.fdb_repo}: no v1_v1.5/evaluation/evaluate.py (not an FDB checkout)")
    jobs: list[tuple[Path, Path | None]] = [(f, None) for f in args.folders]
    for run_dir in args.run:
        config = json.loads((run_dir / "run.json").read_text())["config"]
        if not config.get("export_fdb"):
            parser.error(f"{run_dir}/run.json: the run has no export_fdb folder")
        # our exports hold one folder per task, samples numbered, with a map to our item ids
        jobs.append((Path(config["export_fdb"]) / config["task"], run_dir))
    if not jobs:
        parser.error("give at least one folder or --run")
    blocks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fdb-crosscheck-") as t, judge_server() as url:
        env = Env(args.python, evaluation, url, hub_home(Path(t)))
        checks = []
        for i, (folder, run_dir) in enumerate(jobs):
            tmp = Path(t) / f"job{i}"
            tmp.mkdir()
            checks.append(check_folder(env, folder, tmp, args, run_dir))
            blocks.append(format_check(checks[-1]))
            if args.timing and any((s / "input.wav").exists() for s in sample_dirs(folder)):
                blocks.append("\n".join(check_timing(env, folder, tmp)))
        if args.vad:
            blocks.append("\n".join(check_vad(env, [f for f, _ in jobs])))
    return emit("\n\n".join(blocks), {"checks": [as_json(c) for c in checks]}, args.json)


if __name__ == "__main__":
    sys.exit(main())
