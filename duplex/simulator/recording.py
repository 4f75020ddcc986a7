"""A finished session: both channels on one sample clock, plus what happened when."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def duration(self) -> float:
        return self.user.size / self.sample_rate
