"""A "checkpoint" for sweep tests: a folder whose ``oracle`` file holds the oracle's arguments,
so a later step can be made worse by construction
(``python:tests.sweep.ckpt_model:make:{checkpoint}``)."""

from __future__ import annotations

from pathlib import Path

from duplex.models.base import Model
from duplex.models.registry import load_model

#: answers 0.6 s after the user's turn: quiet through every pause
GOOD = "latency=0.6,length=1"
#: speaks 0.3 s into every mid-turn pause, for 2 s: takes the turn in each (pause TOR 1, lower is
#: better)
RUDE = "mode=pause,latency=0.3,length=2"


def make(folder: str) -> Model:
    return load_model(f"oracle:{(Path(folder) / 'oracle').read_text().strip()}")


def write(folder: Path, oracle: str = GOOD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "oracle").write_text(oracle + "\n")
    return folder
