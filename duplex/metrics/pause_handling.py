"""Task "pause_handling": the user pauses inside a turn; a good model keeps quiet (TOR lower).

Per item (a recording with annotated pauses):

- ``tor_fdb``: Full-Duplex-Bench's pause TO - their take-over rule over the ASR words of the
  whole output (:func:`~duplex.metrics.fdb_rules.takeover`). Averaged over items it is the
  anchor's "TOR" for synthetic/Candor pause handling; only the ASR differs (named in results).
  Like the anchor's, it counts a reply after the user's turn as a take-over when the recording
  runs on past the turn.
- ``tor_window``: ours - 1 if the model took any pause window
  (:func:`~duplex.metrics.takeover.windowed_takeover`, VAD activity, defaults: grace 0.3 s,
  gaps < 0.5 s merged, segments >= 1 s, overlap >= 0.1 s). None without pauses.
- ``pauses_taken_frac``: the fraction of this item's pauses taken (None without pauses).
- ``n_pauses``: annotated pauses.
- ``model_speech_s``: seconds of model speech activity over the whole recording.
- ``first_onset_s``: first model speech onset (seconds), None when the model never spoke.
- ``talks_in_pause_s``: seconds of model activity (unmerged) inside the pause windows, grace
  included; shows how much of the pauses a model talks over, backchannels included.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations
from duplex.metrics import fdb_rules, fdbio
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.takeover import (
    pause_windows,
    seconds_inside,
    windowed_takeover,
)
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.metrics.views import turn_view
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word
from duplex.timeline import Span

GRACE = 0.3


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    del recording  # everything needed is in the analysis; kept for the common scorer signature
    activity = analysis.activity
    pauses = annotations.pauses
    windowed = windowed_takeover(activity, pauses, grace=GRACE)
    return {
        "tor_fdb": fdb_rules.takeover(analysis.fdb_stamps()),
        "tor_window": windowed.to,
        "pauses_taken_frac": windowed.fraction,
        "n_pauses": len(pauses),
        "model_speech_s": round(sum(s.duration for s in activity), 4),
        "first_onset_s": activity[0].start if activity else None,
        "talks_in_pause_s": round(seconds_inside(activity, pause_windows(pauses, GRACE)), 4),
    }


FDB_FILE = "pause.json"


def read_fdb(folder: Path, context: Any) -> Annotations:
    """``pause.json``: ``[{"text": "[PAUSE]", "timestamp": [start, end]}, ...]``."""
    path = folder / FDB_FILE
    doc = fdbio.entries(fdbio.load_json(path), path, at_least=0)
    pauses = [fdbio.span(e.get("timestamp"), path, f"[{i}].timestamp") for i, e in enumerate(doc)]
    return Annotations(speech=(), pauses=tuple(Span(a, b) for a, b in pauses), source="fdb")


def write_fdb(
    dest: Path, recording: Recording, annotations: Annotations, transcript: Transcript
) -> Sequence[Word]:
    doc = [
        {"text": "[PAUSE]", "timestamp": [fdbio.t(p.start), fdbio.t(p.end)]}
        for p in annotations.pauses
    ]
    fdbio.write_json(dest / FDB_FILE, doc)
    return transcript.words


TASK = Task(
    name="pause_handling",
    view=turn_view,
    version="2",
    score=score,
    metrics=(
        Metric("tor_fdb", "TOR (FDB rule)", "lower", headline=True, fdb=True, column="pause TOR"),
        Metric("tor_window", "TOR (windowed)", "lower", headline=True, column="pause TOR win"),
        Metric("pauses_taken_frac", "pauses taken", "lower"),
        Metric("talks_in_pause_s", "seconds talked in pauses", "lower"),
        Metric("n_pauses", "pauses"),
        Metric("model_speech_s", "model speech s"),
        Metric("first_onset_s", "first model onset s"),
    ),
    summary="keeps quiet through the user's mid-turn pauses",
    fdb=FdbFormat(FDB_FILE, read_fdb, write_fdb),
    rank=1,
)
