"""Models for executor tests, loaded by workers through ``python:tests.executors.models:...``.

``make_killer:ITEM,MARKER`` is the oracle, except that the worker process opening a session for
ITEM sends itself SIGKILL - once if MARKER (a file path) is given (the file records that it
happened), on every attempt if MARKER is ``always``. A real kill -9 of the worker, from inside, so
that the test needs no handle on Ray's processes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from duplex.models.base import LockstepModel, LockstepSession, SessionInfo
from duplex.models.registry import load_model


class KillerModel(LockstepModel):
    needs_annotations = True

    def __init__(self, item_id: str, marker: str) -> None:
        inner = load_model("oracle:latency=0.6")
        assert isinstance(inner, LockstepModel)
        self.inner = inner
        self.item_id, self.marker = item_id, marker
        self.spec = f"killer:{item_id}"

    def open(self, info: SessionInfo) -> LockstepSession:
        if info.item_id == self.item_id:
            if self.marker == "always":
                os.kill(os.getpid(), signal.SIGKILL)
            marker = Path(self.marker)
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.open(info)


def make_killer(arg: str) -> KillerModel:
    item_id, marker = arg.split(",", 1)
    return KillerModel(item_id, marker)
