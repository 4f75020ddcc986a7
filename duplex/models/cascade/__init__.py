"""``cascade``: a cascaded full-duplex voice agent built from offline PyPI parts.

Silero VAD (streaming) -> end-of-turn judgement on Whisper tiny.en partial transcripts -> replies
from SmolLM2-135M-Instruct (transformers, GGUF) -> the Piper voice, piece by piece. Modules:
:mod:`.params` (spec arguments), :mod:`.turn` (end-of-turn rule), :mod:`.listen` (partial ASR),
:mod:`.llm` (model, conversation cache, incremental decoding), :mod:`.speech_out` (segmenting,
TTS, playout), :mod:`.agent` (the per-session state machine).

Everything is loaded once in :func:`make_cascade`; :meth:`CascadeModel.open` only creates session
state (a VAD stream and a copy of the system prompt's KV cache).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from duplex.models.base import LockstepModel, ModelSpec, SessionInfo
from duplex.models.cascade import listen, speech_out
from duplex.models.cascade.agent import BACKCHANNELS, CascadeSession
from duplex.models.cascade.llm import Llm
from duplex.models.cascade.params import CascadeParams, parse
from duplex.speech import silero
from duplex.speech.tts import tts_provenance

__all__ = ["CascadeModel", "CascadeParams", "CascadeSession", "make_cascade"]


class CascadeModel(LockstepModel):
    def __init__(self, spec: ModelSpec, params: CascadeParams) -> None:
        self.spec = spec.text
        self.params = params
        self.llm = Llm(threads=params.threads, weights=params.llm_weights)
        listen.load()
        silero.session()
        # Warm every component once so the first session's first reply is not a cold start.
        for text in BACKCHANNELS:
            speech_out.cached_speech(text, self.sample_rate)
        listen.transcribe(speech_out.cached_speech("Hello there.", self.sample_rate), 24000)

    def open(self, info: SessionInfo) -> CascadeSession:
        return CascadeSession(info, self.params, self.llm)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "params": asdict(self.params),
            "vad": {"backend": "silero", "streaming": True},
            "asr": listen.provenance(),
            "llm": self.llm.describe(),
            "tts": tts_provenance(),
        }


def make_cascade(spec: ModelSpec) -> CascadeModel:
    return CascadeModel(spec, parse(spec))
