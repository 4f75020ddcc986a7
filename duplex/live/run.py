"""After a live session: the session folder and a one-row run folder the report tools read.

```
OUT/
  run.json   summary.json   results.jsonl (one row)
  sessions/ITEM/  input.wav output.wav session.wav session.json
```
``session.json`` is written by the simulator's writer from a synthetic scenario item: the captured
mic audio, with annotations derived from it (user speech spans from VAD on the mic channel).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from duplex.errors import ResultsError
from duplex.live.devices import AudioIO
from duplex.live.score import HEADLINE, TASK, TASK_VERSION, score_live, user_turns
from duplex.live.session import LiveOptions, LiveResult, run_live
from duplex.metrics.analysis import analyze_output
from duplex.models.base import Model
from duplex.provenance import environment
from duplex.report.store import RunStore
from duplex.scenarios.base import Annotations, ScenarioItem, SpeechSpan
from duplex.simulator.session_folder import write_session_folder
from duplex.speech.vad import speech_segments, vad_provenance

SUITE = "live"
SUITE_VERSION = "1"


@dataclass(frozen=True)
class LiveRunConfig:
    model: str
    out: Path
    duration_s: float | None = None
    vad: str = "silero"
    asr: str | None = "faster-whisper-tiny.en"
    frame_ms: int = 80
    seed: int = 0


def default_live_out(model: str) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in model)[:48]
    return Path("runs") / f"live-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def live_session(
    model: Model, device: AudioIO, config: LiveRunConfig, **kwargs: Any
) -> tuple[LiveResult, dict[str, Any]]:
    """Run the session, then write and score it; returns the result and the results row."""
    if (config.out / "run.json").exists():
        raise ResultsError(f"{config.out}: a run is already there; choose another --out")
    item_id = f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    opts = LiveOptions(
        duration_s=config.duration_s, frame_ms=config.frame_ms, seed=config.seed, item_id=item_id
    )
    result = asyncio.run(run_live(model, device, opts, **kwargs))
    row = write_live_run(result, config, model.describe(), item_id)
    return result, row


def write_live_run(
    result: LiveResult, config: LiveRunConfig, model_desc: dict[str, Any], item_id: str
) -> dict[str, Any]:
    from duplex.runner import build_summary

    rec = result.recording
    rate = rec.sample_rate
    segments = speech_segments(rec.user, rate, backend=config.vad) if rec.user.size else []
    turns, pauses = user_turns(segments)
    annotations = Annotations(
        speech=tuple(SpeechSpan(s.start, s.end, "") for s in segments),
        pauses=tuple(pauses),
        extra={"source": "live", "user_turns": [[t.start, t.end] for t in turns]},
    )
    rec.annotations = annotations
    item = ScenarioItem(
        suite=SUITE,
        suite_version=SUITE_VERSION,
        item_id=item_id,
        audio=rec.user,
        sample_rate=rate,
        annotations=annotations,
        spec_hash=hashlib.sha256(rec.user.tobytes()).hexdigest()[:16],
        provenance={"source": "microphone", "device": rec.timings.get("device")},
    )
    store = RunStore(config.out)
    run_doc = {
        "config": {
            "suite": SUITE,
            "suite_version": SUITE_VERSION,
            "task": TASK,
            "task_version": TASK_VERSION,
            "model": config.model,
            "clock": "realtime",
            "vad": config.vad,
            "asr": config.asr,
            "frame_ms": config.frame_ms,
            "seed": config.seed,
            "out": str(config.out),
            "duration_s": config.duration_s,
            "source": "live",
        },
        "model": model_desc,
        "device": rec.timings.get("device"),
        "backends": {"vad": vad_provenance(config.vad)},
        "environment": environment(),
    }
    store.open(run_doc, resume=False)
    meta = {
        "model": config.model,
        "model_audio_chunks": rec.timings.get("model_audio_chunks", 0),
        "live": {
            "stop_reason": result.stop_reason,
            "input_latency_s": rec.timings.get("input_latency_s"),
            "output_latency_s": rec.timings.get("output_latency_s"),
        },
    }
    write_session_folder(store.session_dir(item_id), rec, item, meta)
    analysis = analyze_output(replace_empty(rec), vad=config.vad, asr=config.asr)
    metrics, turn_rows = score_live(segments, analysis.activity, rec.duration)
    row = {
        "item_id": item_id,
        "spec_hash": item.spec_hash,
        "duration_s": rec.duration,
        "status": "ok",
        "attempts": 1,
        "metrics": metrics,
        "turns": turn_rows,
        "transcript": analysis.transcript.text,
        "timings": rec.timings,
    }
    store.append(row)
    summary = build_summary([row], HEADLINE, 1, run_doc)
    store.write_summary(summary)
    return row


def replace_empty(rec: Any) -> Any:
    """A zero-length recording cannot be analysed; give the VAD one silent frame instead."""
    if rec.model.size:
        return rec
    import numpy as np

    return replace(rec, user=np.zeros(1920, np.float32), model=np.zeros(1920, np.float32))


def format_live(row: dict[str, Any], folder: Path) -> str:
    m = row["metrics"]

    def f(v: Any, unit: str = "") -> str:
        return "-" if v is None else (f"{v:.3f}{unit}" if isinstance(v, float) else f"{v}{unit}")

    lines = [
        f"live session {row['item_id']}: {f(m['duration_s'], ' s')}, "
        f"stopped by {row['timings'].get('stop_reason')}",
        f"  user turns {m['user_turns']}, answered {m['responses']}, "
        f"latency median {f(m['latency_median_s'], ' s')} mean {f(m['latency_mean_s'], ' s')}",
        f"  pauses {m['pauses']}, taken over {f(m['takeover_fraction'])}; "
        f"interruptions {m['interruptions']}, stop latency {f(m['stop_latency_mean_s'], ' s')}",
        f"  backchannels {m['backchannels']}, overlaps {m['overlaps']} ({f(m['overlap_s'], ' s')})",
        f"run folder: {folder}",
    ]
    return "\n".join(lines)
