"""After a live session: the session folder and a one-row run folder the report tools read.

```
OUT/
  run.json   summary.json   results.jsonl (one row)
  sessions/ITEM/  input.wav output.wav session.wav session.json
```
The wav files are written by the session as it records (:class:`duplex.live.session.SessionFiles`);
``session.json`` by the simulator's writer, from a synthetic scenario item whose annotations come
from the mic channel (user speech spans from VAD). Scoring reads the files in blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from duplex.annotations import Annotations
from duplex.errors import ResultsError
from duplex.live.devices import AudioIO
from duplex.live.session import LiveOptions, LiveResult, SessionFiles, run_live
from duplex.metrics.live import TASK as LIVE
from duplex.metrics.live import score_live, user_turns
from duplex.metrics.response import utterances
from duplex.models.base import Model
from duplex.provenance import environment, file_sha256, run_folder
from duplex.report.documents import ResultRow, RunDoc, RunSettings, build_summary
from duplex.report.store import RunStore
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.gcpause import few_gc_pauses
from duplex.simulator.recording import Recording
from duplex.simulator.session_folder import write_session_json
from duplex.speech.blocks import Reader, speech_segments_blocked, wav_reader
from duplex.speech.vad import vad_provenance
from duplex.timeline import Span, SpeechSpan

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
    return run_folder("live", model)


def prepare_model(model: Model) -> None:
    """Give back memory a loaded model will not use during its session.

    Instrument models synthesise everything they say when they are loaded (and keep it), so the
    TTS voice sits idle through the session: unloading it and handing the freed heap back to the
    system takes a scripted session's starting RSS from about 320 MB to 130 MB.
    """
    from duplex.models.instruments import InstrumentModel

    if isinstance(model, InstrumentModel):
        from duplex.speech import tts

        tts.unload()
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere a no-op).

    Freed blocks below glibc's mmap threshold stay in the process after ``free``; a model load
    leaves tens of MB of them.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def live_session(
    model: Model, device: AudioIO, config: LiveRunConfig, **kwargs: Any
) -> tuple[LiveResult, ResultRow]:
    """Run the session, then write and score it; returns the result and the results row.

    The audio goes straight into the run folder's session folder as it is recorded.
    """
    if (config.out / "run.json").exists():
        raise ResultsError(f"{config.out}: a run is already there; choose another --out")
    item_id = f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    opts = LiveOptions(
        duration_s=config.duration_s, frame_ms=config.frame_ms, seed=config.seed, item_id=item_id
    )
    folder = RunStore(config.out).session_dir(item_id)
    with few_gc_pauses():
        result = asyncio.run(run_live(model, device, opts, folder=folder, **kwargs))
    row = write_live_run(result, config, model.describe(), item_id)
    return result, row


def write_live_run(
    result: LiveResult, config: LiveRunConfig, model_desc: dict[str, Any], item_id: str
) -> ResultRow:
    """Write the run folder around the session's audio and score it, reading the audio in blocks.

    Memory does not grow with the session's length: VAD and edge refinement read the wav files
    block by block (:mod:`duplex.speech.blocks`) and ASR runs on one model utterance at a time.
    """
    gc.collect()
    trim_heap()  # what the session's model freed (its plan of a ten-minute session: 58 MB)
    rate = result.sample_rate
    store = RunStore(config.out)
    folder = store.session_dir(item_id)
    _move_audio(result.folder, folder)
    result.folder = folder
    read_user, n, _ = wav_reader(folder / "input.wav")
    segments = speech_segments_blocked(read_user, n, rate, backend=config.vad)
    item = _live_item(result, item_id, folder, segments)
    run_doc = _live_run_doc(result, config, model_desc)
    store.open(run_doc, resume=False)
    meta = {
        "model": config.model,
        "model_audio_chunks": result.timings.get("model_audio_chunks", 0),
        "live": {
            "stop_reason": result.stop_reason,
            "input_latency_s": result.timings.get("input_latency_s"),
            "output_latency_s": result.timings.get("output_latency_s"),
        },
    }
    empty = np.zeros(0, np.float32)
    rec = Recording(rate, empty, empty, result.events, result.timings, item.annotations)
    write_session_json(folder, rec, item, meta, samples=n)
    read_model, n_model, _ = wav_reader(folder / "output.wav")
    activity = speech_segments_blocked(read_model, n_model, rate, backend=config.vad)
    transcript = (
        "" if config.asr is None else transcribe_utterances(read_model, rate, activity, config.asr)
    )
    metrics, turn_rows = score_live(segments, activity, n / rate)
    row = ResultRow(
        item_id=item_id,
        status="ok",
        spec_hash=item.spec_hash,
        duration_s=n / rate,
        attempts=1,
        metrics=metrics,
        turns=turn_rows,
        transcript=transcript,
        timings=result.timings,
    )
    store.append(row)
    store.write_summary(build_summary([row], LIVE, 1, run_doc.config))
    return row


def _live_item(
    result: LiveResult, item_id: str, folder: Path, segments: Sequence[Span]
) -> ScenarioItem:
    """A scenario item standing for the session: the user's side found by VAD on the mic."""
    turns, pauses = user_turns(segments)
    annotations = Annotations(
        speech=tuple(SpeechSpan(s.start, s.end, "") for s in segments),
        pauses=tuple(pauses),
        user_turns=tuple(turns),
        source="live",
    )
    return ScenarioItem(
        suite=SUITE,
        suite_version=SUITE_VERSION,
        item_id=item_id,
        audio=np.zeros(0, np.float32),  # on disk: input.wav
        sample_rate=result.sample_rate,
        annotations=annotations,
        spec_hash=file_sha256(folder / "input.wav"),
        provenance={"source": "microphone", "device": result.timings.get("device")},
    )


def _live_run_doc(result: LiveResult, config: LiveRunConfig, model_desc: dict[str, Any]) -> RunDoc:
    settings = RunSettings(
        suite=SUITE,
        suite_version=SUITE_VERSION,
        task=LIVE.name,
        task_version=LIVE.version,
        model=config.model,
        clock="realtime",
        vad=config.vad,
        asr=config.asr,
        frame_ms=config.frame_ms,
        seed=config.seed,
        out=str(config.out),
        duration_s=config.duration_s,
        source="live",
    )
    return RunDoc(
        config=settings,
        model=model_desc,
        device=result.timings.get("device"),
        backends={"vad": vad_provenance(config.vad)},
        environment=environment(),
    )


#: ASR reads the model channel one utterance at a time, at most this long (Whisper's window).
ASR_PIECE_S = 30.0
#: Audio kept on either side of an utterance for the recogniser.
ASR_MARGIN_S = 0.2


def transcribe_utterances(read: Reader, rate: int, activity: Sequence[Span], asr: str) -> str:
    """The model's words, recognised one utterance (at most :data:`ASR_PIECE_S`) at a time.

    One pass over a ten-minute channel would hold it at 16 kHz and Whisper's features of all of
    it; an utterance at a time holds one utterance. Words are gated by the VAD as in a whole-file
    pass (:func:`duplex.speech.asr.transcribe`).
    """
    from duplex.speech.asr import ASR_BACKENDS

    transcribe = ASR_BACKENDS.get(asr)
    words: list[str] = []
    margin = round(ASR_MARGIN_S * rate)
    for u in utterances(activity):
        t = u.start
        while t < u.end:
            end = min(u.end, t + ASR_PIECE_S)
            a, b = max(0, round(t * rate) - margin), round(end * rate) + margin
            x = read(a, b)
            off = a / rate
            speech = [
                Span(max(s.start, t) - off, min(s.end, end) - off)
                for s in activity
                if s.end > t and s.start < end
            ]
            text = transcribe(x, rate, speech=speech).text
            if text:
                words.append(text)
            t = end
    return " ".join(words)


def _move_audio(src: Path, dst: Path) -> None:
    if src.resolve() == dst.resolve():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for name in SessionFiles.NAMES:
        shutil.move(src / name, dst / name)


def format_live(row: ResultRow, folder: Path) -> str:
    m = row.metrics

    def f(v: Any, unit: str = "") -> str:
        return "-" if v is None else (f"{v:.3f}{unit}" if isinstance(v, float) else f"{v}{unit}")

    lines = [
        f"live session {row.item_id}: {f(m['duration_s'], ' s')}, "
        f"stopped by {row.timings.get('stop_reason')}",
        f"  user turns {m['user_turns']}, answered {m['responses']}, "
        f"latency median {f(m['latency_median_s'], ' s')} mean {f(m['latency_mean_s'], ' s')}",
        f"  pauses {m['pauses']}, taken over {f(m['takeover_fraction'])}; "
        f"interruptions {m['interruptions']}, stop latency {f(m['stop_latency_mean_s'], ' s')}",
        f"  backchannels {m['backchannels']}, overlaps {m['overlaps']} ({f(m['overlap_s'], ' s')})",
        f"run folder: {folder}",
    ]
    return "\n".join(lines)
