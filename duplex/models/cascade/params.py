"""The cascade's parameters, each settable from the model spec (``cascade:key=value,...``)."""

from __future__ import annotations

from dataclasses import dataclass

from duplex.models.base import ModelSpec
from duplex.models.registry import SpecArgs

ARGS = {
    "eot": "lm | rule | silence: transcript rule and the LM's end-of-turn probability, the "
    "rule alone, or a silence timer only",
    "eot_threshold": "0-1: LM end-of-turn probability needed (eot=lm)",
    "check_silence": "s of silence before the partial transcript is checked",
    "max_silence": "s of silence after which even an unfinished turn is answered",
    "backchannel": "0/1: say mm-hm in pauses of long user turns",
    "bc_min_turn": "s of user speech in the turn before a backchannel",
    "bc_gap": "min s between backchannels",
    "barge_in": "0/1: stop talking when the user talks over it",
    "barge_pause": "s of overlapping speech that pauses the reply",
    "barge_confirm": "s of overlapping speech that ends it without an ASR check",
    "max_tokens": "token budget of a reply",
    "max_sentences": "sentences in a reply",
    "max_words": "words in a reply, the rest cut (0: no limit); a worse system of known order",
    "tokens_per_step": "most LLM tokens decoded in one 80 ms step",
    "step_budget": "s of decoding per step: tokens are decoded until this much compute is spent",
    "threads": "torch threads",
    "llm_weights": "int8 | float32: SmolLM2's linear layers (int8 decodes ~1.6x faster)",
    "asr_window": "s: Whisper encoder window of a turn check (10 = fast; 30 = Whisper's own)",
    "vad_threshold": "0-1",
}


@dataclass(frozen=True)
class CascadeParams:
    eot: str = "lm"
    eot_threshold: float = 0.3
    check_silence: float = 0.08
    max_silence: float = 2.4
    backchannel: bool = True
    bc_min_turn: float = 3.0
    bc_gap: float = 5.0
    barge_in: bool = True
    barge_pause: float = 0.12
    barge_confirm: float = 0.64
    max_tokens: int = 48
    max_sentences: int = 2
    max_words: int = 0
    tokens_per_step: int = 8
    step_budget: float = 0.06
    threads: int = 1
    llm_weights: str = "int8"
    asr_window: float = 10.0
    vad_threshold: float = 0.5


def parse(spec: ModelSpec) -> CascadeParams:
    a = SpecArgs(spec, ARGS)
    d = CascadeParams()
    return CascadeParams(
        eot=a.choice("eot", d.eot, ("lm", "rule", "silence")),
        eot_threshold=a.float("eot_threshold", d.eot_threshold, high=1),
        check_silence=a.float("check_silence", d.check_silence, low=0.04, high=5),
        max_silence=a.float("max_silence", d.max_silence, low=0.1, high=30),
        backchannel=a.bool("backchannel", d.backchannel),
        bc_min_turn=a.float("bc_min_turn", d.bc_min_turn, high=600),
        bc_gap=a.float("bc_gap", d.bc_gap, low=0.5, high=600),
        barge_in=a.bool("barge_in", d.barge_in),
        barge_pause=a.float("barge_pause", d.barge_pause, low=0.03, high=5),
        barge_confirm=a.float("barge_confirm", d.barge_confirm, low=0.05, high=10),
        max_tokens=int(a.float("max_tokens", d.max_tokens, low=1, high=512)),
        max_sentences=int(a.float("max_sentences", d.max_sentences, low=1, high=20)),
        max_words=int(a.float("max_words", d.max_words, low=0, high=1000)),
        tokens_per_step=int(a.float("tokens_per_step", d.tokens_per_step, low=1, high=512)),
        step_budget=a.float("step_budget", d.step_budget, low=0.001, high=5.0),
        threads=int(a.float("threads", d.threads, low=1, high=64)),
        llm_weights=a.choice("llm_weights", d.llm_weights, ("int8", "float32")),
        asr_window=a.float("asr_window", d.asr_window, low=2, high=30),
        vad_threshold=a.float("vad_threshold", d.vad_threshold, low=0.01, high=0.99),
    )
