"""``replier``: an instrument for conversations, whose replies are known in advance.

It reads the item's staged goals (``SessionInfo.annotations.conversation``, as the oracle reads
its annotations) and answers the examiner's ``k``-th turn with goal ``k``'s reference reply
(``replies=good``) or with its ``bad_reply`` where the goal has one (``replies=bad``: the reply
that ignores the correction, forgets the entity, complies with the harmful request). Turns past
the goals (the closing phrase) get a short farewell.

Turn-taking is a real VAD's, as the ``scripted`` instrument's: a user turn ends after ``silence``
s without speech, and the reply is planned ``latency`` s after the last voiced sample (or at
once, if that moment has passed); user speech of 0.2 s over the reply stops it (``barge_in``).
A user turn is counted once it has ended, so the examiner's line must not hold a pause as long
as ``silence`` (the Piper voice's sentence pauses are about 0.3 s).

Every reply is synthesised when the session opens (a step's compute time is on the timeline).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from duplex.audio import Samples, resample, trim_silence
from duplex.errors import ConfigError
from duplex.models.base import LockstepSession, ModelSpec, SessionInfo
from duplex.models.instruments import InstrumentModel, PlannedSession, warm_up
from duplex.models.registry import SpecArgs
from duplex.speech.tts import synthesize
from duplex.speech.vad import StreamingVad

FAREWELL = "You're welcome. Goodbye!"
#: user speech over a reply for this long stops it
BARGE_S = 0.2
#: the replier's voice: another speaker than the examiner's default
VOICE = "joe-high"


@functools.lru_cache(maxsize=1024)
def _speech(text: str, rate: int) -> Samples:
    audio, tts_rate = synthesize(text, voice=VOICE)
    out = trim_silence(resample(audio, tts_rate, rate), rate)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class ReplierParams:
    replies: str
    latency: float
    silence: float
    barge_in: bool
    vad_threshold: float


class _ReplierSession(PlannedSession):
    def __init__(self, info: SessionInfo, p: ReplierParams) -> None:
        super().__init__(info)
        conv = info.annotations.conversation
        if conv is None:
            raise ConfigError(f"replier: item {info.item_id!r} is not a conversation")
        rate = self.rate = info.sample_rate
        texts = [g.bad_reply if p.replies == "bad" and g.bad_reply else g.reply for g in conv.goals]
        self._replies = [_speech(t, rate) if t else None for t in texts]
        self._farewell = _speech(FAREWELL, rate)
        self._vad = StreamingVad(rate, threshold=p.vad_threshold)
        self._threshold = p.vad_threshold
        self._latency = round(p.latency * rate)
        self._silence = round(p.silence * rate)
        self._barge = round(BARGE_S * rate) if p.barge_in else None
        self._speech_end: int | None = None  # last voiced sample of the user turn under way
        self._run = 0  # voiced samples in a row
        self._turn = 0  # user turns answered so far
        self._reply: tuple[int, int] | None = None  # planned (start, end) of the current reply

    def react(self, frame: Samples) -> None:
        now = (self.n + 1) * self.frame  # heard up to here
        chunk = 512 * self.rate // 16000
        for end, prob in self._vad.push(frame):
            if prob < self._threshold:
                self._run = 0
                continue
            self._run += chunk
            self._speech_end = end
            reply = self._reply
            talking = reply is not None and reply[0] <= self.heard_from < reply[1]
            if talking and self._barge is not None and self._run >= self._barge:
                self.hush(self.heard_from)
                self._reply = None
        if self._speech_end is not None and now - self._speech_end >= self._silence:
            k, self._turn = self._turn, self._turn + 1
            speech = self._replies[k] if k < len(self._replies) else self._farewell
            if speech is not None:
                start = self.say(speech, self._speech_end + self._latency)
                self._reply = (start, start + speech.size)
            self._speech_end = None


class ReplierModel(InstrumentModel):
    params: ReplierParams
    needs_annotations = True

    def open(self, info: SessionInfo) -> LockstepSession:
        return _ReplierSession(info, self.params)


def make_replier(spec: ModelSpec) -> ReplierModel:
    a = SpecArgs(
        spec,
        {
            "replies": "good | bad: each goal's reference reply, or its bad_reply where it has one",
            "latency": "s from the end of the user's speech to the reply",
            "silence": "s of silence that ends a user turn",
            "barge_in": "0/1: stop talking when the user talks over it",
            "vad_threshold": "0-1",
        },
    )
    warm_up(speech_seconds=0.5)
    return ReplierModel(
        spec,
        ReplierParams(
            replies=a.choice("replies", "good", ("good", "bad")),
            latency=a.float("latency", 0.2, high=10),
            silence=a.float("silence", 0.7, low=0.1, high=10),
            barge_in=a.bool("barge_in", True),
            vad_threshold=a.float("vad_threshold", 0.5, high=1),
        ),
    )
