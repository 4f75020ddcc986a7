"""Places model output on the session timeline, where a listener would have heard it."""

from __future__ import annotations

from duplex.audio import Samples
from duplex.events import Event, ModelAudio, ModelAudioCleared, ModelEvent
from duplex.playout import FRAME_SYNCHRONOUS, STREAMING, ArrayPlayout
from duplex.simulator.recording import Recording


class Recorder:
    """Both channels of one session on one sample clock.

    Model audio is placed by :mod:`duplex.playout` into a channel of the user channel's length:
    from its arrival, or from where earlier audio stops; :class:`ModelAudioCleared` cuts what was
    queued after its time; audio past the end of the session is dropped and counted.

    ``skip_queued_silence`` picks the frame-synchronous policy, for models that emit one frame per
    frame in (lock-step models on either clock): a frame of digital silence that would have to
    wait behind earlier audio is not queued, as an adaptive playout buffer shortens silence to
    catch up. Bursty streaming models keep plain FIFO playout: their silences are meant.
    """

    def __init__(self, user: Samples, rate: int, *, skip_queued_silence: bool = False) -> None:
        self.rate = rate
        self.user = user
        policy = FRAME_SYNCHRONOUS if skip_queued_silence else STREAMING
        self.playout = ArrayPlayout(user.size, policy)
        self.model = self.playout.channel
        self.events: list[Event] = []

    def add(self, event: ModelEvent | Event) -> None:
        if isinstance(event, ModelAudio):
            self.playout.add(event.at, event.samples)
        elif isinstance(event, ModelAudioCleared):
            self.playout.cut(event.at)
        self.events.append(event)

    def finish(self, timings: dict[str, object]) -> Recording:
        counts = self.playout.core.counts
        timings = {
            **timings,
            "model_samples_dropped": counts.dropped,
            "model_samples_delayed": counts.delayed,
            "model_silence_skipped": counts.skipped,
        }
        return Recording(self.rate, self.user, self.model, list(self.events), timings)
