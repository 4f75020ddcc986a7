"""The user channel, frame by frame, with reactive cues placed from what the model has said.

A cue (e.g. an interruption) starts ``after_model_onset`` s after the model is first heard speaking
at or after ``armed_at``, or at ``fallback_at`` if it has not spoken by then. Frame ``n`` is decided
from the model audio placed before ``(n - 1) * F``: the user perceives one frame late. That lag
makes the information final and identical on both clocks: in real time, audio placed there arrived
at least one frame before the decision, so the receiver has recorded it even if the event loop was
briefly busy; and nothing can be placed in the past. A deterministic model therefore gets the same
interruption time in lock-step and in real time.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np

from duplex.annotations import Annotations, Cue
from duplex.audio import Samples
from duplex.events import UserCueFired
from duplex.scenarios.base import ReactiveCue, ScenarioItem
from duplex.simulator.user import UserSide

#: Silero's analysis chunk (512 samples at 16 kHz) in seconds.
VAD_CHUNK_S = 0.032
#: How much model speech after the VAD's onset to wait for before refining the onset by energy
#: (the refinement needs the speech level); a cue's delay is far longer than this.
REFINE_AFTER_S = 0.3


class UserPlayback(UserSide):
    """Produces user frames; places pending cues as the model's behaviour decides them."""

    def __init__(self, item: ScenarioItem, frame_size: int, n_frames: int) -> None:
        self.item = item
        self.rate = item.sample_rate
        self.frame = frame_size
        self.n_frames = n_frames
        self.length = item.audio.size
        self.user = np.zeros(n_frames * frame_size, dtype=np.float32)
        self.user[: item.audio.size] = item.audio
        self._pending = list(item.cues)
        self._resolved: list[Cue] = []
        self.fired: list[UserCueFired] = []
        self._vad: Any = None
        if self._pending:
            from duplex.speech.vad import StreamingVad

            self._vad = StreamingVad(self.rate)
        self._fed = 0  # model samples already given to the VAD
        self._vad_onset: int | None = None  # chunk-level onset, waiting to be refined
        self._model_onset: int | None = None  # first voiced model sample at/after the earliest arm
        self._armed_at = min((round(c.armed_at * self.rate) for c in item.cues), default=0)

    def frame_at(self, n: int, model: Samples) -> Samples:
        """User frame ``n``; ``model`` is the model channel (only ``[0, (n-1)*F)`` is read)."""
        if self._pending:
            self._listen(model, max(0, (n - 1) * self.frame))
            self._place_due(n)
        return self.user[n * self.frame : (n + 1) * self.frame]

    def _listen(self, model: Samples, heard_until: int) -> None:
        if self._model_onset is not None:
            return
        if self._vad_onset is None and heard_until > self._fed:
            chunk = model[self._fed : heard_until]
            self._fed = heard_until
            for end, prob in self._vad.push(chunk):
                onset = max(0, end - round(VAD_CHUNK_S * self.rate))
                if prob >= self._vad.threshold and onset >= self._armed_at:
                    self._vad_onset = onset
                    break
        if self._vad_onset is not None and heard_until >= self._vad_onset + round(
            REFINE_AFTER_S * self.rate
        ):
            self._model_onset = max(self._armed_at, self._refine(model, heard_until))

    def _refine(self, model: Samples, heard_until: int) -> int:
        """Move the VAD's chunk-level onset to where the energy says the speech starts."""
        from duplex.speech.edges import Envelope, refine

        assert self._vad_onset is not None
        lo = max(0, self._vad_onset - round(0.5 * self.rate))
        env = Envelope(model[lo:heard_until], self.rate)
        hop = round(VAD_CHUNK_S * self.rate)
        spans = refine(env, [(self._vad_onset - lo, heard_until - lo)], hop, self.rate)
        return lo + spans[0][0] if spans else self._vad_onset

    def _place_due(self, n: int) -> None:
        now = n * self.frame  # nothing before this sample can change any more
        for cue in list(self._pending):
            armed = round(cue.armed_at * self.rate)
            onset = self._model_onset
            if onset is not None and onset < armed:
                onset = None
            fallback = round(cue.fallback_at * self.rate)
            if onset is not None and onset < fallback:
                start, trigger = onset + round(cue.after_model_onset * self.rate), "model_onset"
            elif now + self.frame > fallback:
                start, trigger = fallback, "fallback"
            else:
                continue
            self._place(cue, max(start, now), trigger, onset)

    def _place(self, cue: ReactiveCue, start: int, trigger: str, onset: int | None) -> None:
        self._pending.remove(cue)
        stop = min(start + cue.audio.size, self.user.size)
        if stop > start:
            self.user[start:stop] += cue.audio[: stop - start]
        placed = Cue(
            name=cue.name,
            text=cue.text,
            start=start / self.rate,
            end=(start + cue.audio.size) / self.rate,
            trigger="model_onset" if trigger == "model_onset" else "fallback",
            model_onset=None if onset is None else onset / self.rate,
            after_model_onset=cue.after_model_onset,
            truncated=stop < start + cue.audio.size,
        )
        self._resolved.append(placed)
        self.fired.append(UserCueFired(start, cue.name, asdict(placed)))

    def events(self) -> list[UserCueFired]:
        return self.fired

    def resolved_annotations(self) -> Annotations:
        """The item's annotations with the cues as actually placed."""
        ann = self.item.annotations
        if not self.item.cues:
            return ann
        return ann.with_cues(self._resolved)


def user_playback(item: ScenarioItem, frame_size: int) -> UserPlayback:
    """The default user side: the item's audio, frame by frame, with its reactive cues."""
    return UserPlayback(item, frame_size, math.ceil(item.audio.size / frame_size))
