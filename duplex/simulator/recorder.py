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

    ``skip_queued_silence`` is the playout policy for frame-synchronous models (one frame out per
    frame in): a frame of digital silence that would have to wait behind earlier audio is not
    queued, as an adaptive playout buffer shortens silence to catch up. Without it, one slow step
    (a scheduler hiccup, an ASR call) would delay everything the model says afterwards by the
    same amount; speech frames still queue and are never dropped. Bursty streaming models keep
    plain FIFO playout: their silences are meant.
    """

    def __init__(self, user: Samples, rate: int, *, skip_queued_silence: bool = False) -> None:
        self.rate = rate
        self.skip_queued_silence = skip_queued_silence
        self.skipped_silence = 0  # samples of queued silence not played
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
        if self.skip_queued_silence and self.cursor > event.at and not event.samples.any():
            self.skipped_silence += event.samples.size
            return
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
            "model_silence_skipped": self.skipped_silence,
        }
        return Recording(self.rate, self.user, self.model, list(self.events), timings)
