"""Places model output on the session timeline, where a listener would have heard it."""

from __future__ import annotations

import numpy as np

from duplex.audio import Samples
from duplex.events import Event, ModelAudio, ModelAudioCleared, ModelEvent
from duplex.simulator.recording import Recording


class Recorder:
    """Both channels of one session on one sample clock.

    Model audio plays from its arrival time or from where earlier audio stops, whichever is later
    (a speaker cannot play two chunks at once, and a burst faster than real time is played out at
    real-time rate). :class:`ModelAudioCleared` cuts what was queued after its time. Audio past the
    end of the session is dropped and counted.
    """

    def __init__(self, user: Samples, rate: int) -> None:
        self.rate = rate
        self.user = user
        self.model = np.zeros(user.size, dtype=np.float32)
        self.cursor = 0  # playout position of the model channel
        self.events: list[Event] = []
        self.dropped_samples = 0
        self.late_samples = 0  # audio that had to wait for earlier audio to finish playing

    def add(self, event: ModelEvent | Event) -> None:
        if isinstance(event, ModelAudio):
            self._play(event)
        elif isinstance(event, ModelAudioCleared) and self.cursor > event.at:
            self.model[max(event.at, 0) : self.cursor] = 0.0
            self.cursor = event.at
        self.events.append(event)

    def _play(self, event: ModelAudio) -> None:
        start = max(self.cursor, event.at)
        self.late_samples += start - event.at
        x = event.samples
        stop = min(start + x.size, self.model.size)
        if stop > start:
            self.model[start:stop] = x[: stop - start]
        self.dropped_samples += x.size - max(0, stop - start)
        self.cursor = start + x.size

    def finish(self, timings: dict[str, object]) -> Recording:
        timings = {
            **timings,
            "model_samples_dropped": self.dropped_samples,
            "model_samples_delayed": self.late_samples,
        }
        return Recording(self.rate, self.user, self.model, list(self.events), timings)
