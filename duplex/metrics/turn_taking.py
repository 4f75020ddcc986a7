"""Task "turn_taking": the user finishes a turn (then >= 5 s of silence); a good model answers,
promptly (TOR higher, latency lower).

The end of the user's turn is ``annotations.turn_end`` (the last voiced sample). Per item:

- ``tor_fdb``: Full-Duplex-Bench's TO - its take-over rule over the ASR words of the *whole* output
  (:func:`~duplex.metrics.fdb_rules.takeover`), as the anchor applies it: a model that talked
  over the user's turn and stopped exactly when the user did still scores 1. The mean over items
  is the anchor's "turn-taking TOR" up to the ASR backend (named in every result).
- ``latency_fdb_s``: the anchor's latency - start of the first output word (of the whole output,
  even one spoken during the user's turn) minus the turn end, clipped at 0; None when
  ``tor_fdb`` is 0, so the mean over items is the anchor's average over TO = 1 samples.
- ``tor``: ours - 1 if the model has a *response* to the turn end: an utterance (activity with
  gaps < 0.5 s joined) of at least 1 s that starts no earlier than 0.5 s before the turn end
  (:func:`duplex.metrics.response.response`). Talking over the whole turn and carrying on is not
  taking the turn (0 here, 1 for the anchor); neither is a backchannel.
- ``latency_vad_s``: ours - that response's voice-activity onset minus the turn end, sample
  accurate (energy-refined VAD edges); negative, down to -0.5 s, when the model starts before the
  user's last voiced sample (the anchor clips this to 0). None when ``tor`` is 0.
- ``talking_at_turn_end``: 1 if a model utterance is under way at the turn end (the model is
  talking over the end of the user's turn), else 0.
- ``model_speech_s``: seconds of model speech activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations
from duplex.errors import ScenarioError
from duplex.metrics import fdb_rules, fdbio
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import response, talking_at
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.metrics.views import turn_view
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word
from duplex.timeline import SpeechSpan


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    del recording  # everything needed is in the analysis; kept for the common scorer signature
    end = annotations.turn_end
    fdb = fdb_rules.take_turn(analysis.fdb_stamps(), end)
    reply = response(analysis.activity, end)
    return {
        "tor_fdb": fdb.to,
        "latency_fdb_s": fdb.clipped,
        "tor": int(reply is not None),
        "latency_vad_s": None if reply is None else round(reply.start - end, 4),
        "talking_at_turn_end": int(talking_at(analysis.activity, end)),
        "model_speech_s": round(sum(s.duration for s in analysis.activity), 4),
    }


FDB_FILE = "turn_taking.json"


def read_fdb(folder: Path, context: Any) -> Annotations:
    """``turn_taking.json``: ``[{"timestamp": [end of the user turn, ...]}]``."""
    path = folder / FDB_FILE
    doc = fdbio.entries(fdbio.load_json(path), path)
    ts = doc[0].get("timestamp")
    if not isinstance(ts, list | tuple) or not ts:
        raise ScenarioError(f"{path}: [0].timestamp must be a list [end of turn, ...]")
    end = fdbio.number(ts[0], path, "[0].timestamp[0]")
    return Annotations(speech=(SpeechSpan(0.0, end, ""),), source="fdb")


def write_fdb(
    dest: Path, recording: Recording, annotations: Annotations, transcript: Transcript
) -> Sequence[Word]:
    stamp = [fdbio.t(annotations.turn_end), fdbio.t(recording.duration)]
    fdbio.write_json(dest / FDB_FILE, [{"text": "[TURN-TAKING]", "timestamp": stamp}])
    return transcript.words


TASK = Task(
    name="turn_taking",
    view=turn_view,
    version="2",
    score=score,
    metrics=(
        Metric("tor_fdb", "TOR (FDB rule)", "higher", headline=True, fdb=True, column="turn TOR"),
        Metric(
            "latency_fdb_s",
            "latency s (FDB, first word)",
            "lower",
            headline=True,
            fdb=True,
            column="turn lat s",
        ),
        Metric("tor", "TOR (response)", "higher", headline=True),
        Metric(
            "latency_vad_s",
            "latency s (voice onset)",
            "lower",
            headline=True,
            column="turn lat VAD",
        ),
        Metric("talking_at_turn_end", "talking at the turn end", "lower"),
        Metric("model_speech_s", "model speech s"),
    ),
    summary="takes the turn when the user is done, and how fast",
    fdb=FdbFormat(FDB_FILE, read_fdb, write_fdb),
    rank=3,
)
