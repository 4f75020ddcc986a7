"""The session folder: what one item's session leaves on disk.

``input.wav`` and ``output.wav`` are sample-aligned and of equal length (the layout
Full-Duplex-Bench's scoring expects); ``session.wav`` is the same two channels in stereo (user
left, model right) for listening; ``session.json`` holds annotations, events, timings and
provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from duplex.audio import write_wav
from duplex.events import event_to_json
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.recording import Recording
from duplex.writing import write_json


def write_session_folder(
    folder: Path, recording: Recording, item: ScenarioItem, meta: dict[str, Any]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rate = recording.sample_rate
    write_wav(folder / "input.wav", recording.user, rate)
    write_wav(folder / "output.wav", recording.model, rate)
    write_wav(folder / "session.wav", np.stack([recording.user, recording.model], axis=1), rate)
    write_session_json(folder, recording, item, meta)


def write_session_json(
    folder: Path,
    recording: Recording,
    item: ScenarioItem,
    meta: dict[str, Any],
    *,
    samples: int | None = None,
) -> None:
    """``session.json`` alone, for a caller that wrote the wav files itself (a live session
    writes them as it records); ``samples`` is their length (default: ``recording.user.size``).
    """
    rate = recording.sample_rate
    doc = {
        "item_id": item.item_id,
        "suite": item.suite,
        "suite_version": item.suite_version,
        "spec_hash": item.spec_hash,
        "sample_rate": rate,
        "samples": int(recording.user.size if samples is None else samples),
        "annotations": (recording.annotations or item.annotations).to_json(),
        "scenario_provenance": item.provenance,
        "timings": recording.timings,
        "events": [
            event_to_json(e, rate) for e in recording.events if type(e).__name__ != "ModelAudio"
        ],
        "model_audio_chunks": sum(1 for e in recording.events if type(e).__name__ == "ModelAudio"),
        **meta,
    }
    write_json(folder / "session.json", doc, what="the session record")
