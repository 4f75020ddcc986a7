"""A finished session: both channels on one sample clock, plus what happened when."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations
from duplex.audio import Samples
from duplex.events import Event


@dataclass(eq=False)
class Recording:
    """``user`` and ``model`` are sample-aligned and of equal length at ``sample_rate``.

    ``model`` holds the model's audio placed where a listener would have heard it.
    """

    sample_rate: int
    user: Samples
    model: Samples
    events: list[Event] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    #: the item's annotations as they happened: reactive cues resolved to the times actually used
    annotations: Annotations | None = None
    #: for a recording read back from a Full-Duplex-Bench sample folder: that folder. Figures
    #: named for the anchor then read its files as the anchor's scripts do (rate quirks included);
    #: for a session they read what our export would write.
    source_folder: Path | None = None

    @property
    def duration(self) -> float:
        return self.user.size / self.sample_rate
