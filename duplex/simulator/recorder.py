"""Places model output on the session timeline, where a listener would have heard it."""

from __future__ import annotations

from duplex.audio import Samples
from duplex.events import Event, ModelAudio, ModelAudioCleared, ModelEvent
from duplex.playout import FRAME_SYNCHRONOUS, STREAMING, ArrayPlayout, PlayoutCounts
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
            **audio_loss(counts, timings.get("transport"), self.rate),
        }
        return Recording(self.rate, self.user, self.model, list(self.events), timings)


def audio_loss(counts: PlayoutCounts, transport: object, rate: int) -> dict[str, float]:
    """How much model audio was offered and how much of it was dropped instead of played.

    Offered: what the model (or the server, before a network client's jitter buffer) produced.
    Dropped: what a playout refused as too late (``moshi+ws`` drops a chunk that would start more
    than 100 ms after its arrival) or over capacity. Audio that would play past the end of the
    session is not counted: the session ended, the audio was not lost on the way. A run whose
    audio was mostly dropped is scored as if the model had been silent, so every result row
    carries these figures and the summary warns (``duplex.report.documents``).
    """
    stats = transport if isinstance(transport, dict) else {}
    # A client that drops before the Recorder (moshi+ws) counts what its server offered.
    offered = int(stats.get("offered_samples", counts.offered))
    dropped = int(stats.get("dropped_stale_samples", 0)) + counts.dropped_late + counts.dropped_full
    return {
        "model_audio_offered_s": round(offered / rate, 4),
        "model_audio_dropped_s": round(dropped / rate, 4),
        "model_audio_dropped_frac": round(dropped / offered, 4) if offered else 0.0,
    }
