"""Whole conversations: the examiner, a simulated user that talks with the model for several turns.

- :mod:`.examiner`: the examiner, a :class:`~duplex.simulator.user.UserSide` (hears the model
  through a streaming VAD and ASR, decides when to speak under its pacing policy, speaks lines
  written towards the item's staged goals, ends with its reason);
- :mod:`.policy`: the pacings (``fast``, ``slow``);
- :mod:`.hearing`: where the model's voice is, as the examiner hears it;
- :mod:`.writer` and :mod:`.chat`: who writes the lines (the script, the embedded SmolLM2, an
  API model) and how a written line is checked and cached;
- :mod:`.voice`: the examiner's voice.

The runner builds one :class:`ExaminerSide` per run (it loads the writer once) and hands it to
the session drivers as ``SessionOptions.user_side``; the item's ``conversation`` block says what
to pursue. Scoring is the ``conversation`` task (:mod:`duplex.metrics.conversation`) and its
judge (:mod:`duplex.judges.conversation`).
"""

from __future__ import annotations

import functools
from typing import Any

from duplex.conversation.chat import CHATS
from duplex.conversation.examiner import Examiner
from duplex.conversation.voice import speak
from duplex.conversation.writer import CLOSING, Line, LineRequest, ScriptWriter, Writer
from duplex.errors import ConfigError
from duplex.judges.base import parse_judge_spec
from duplex.models.cascade import listen
from duplex.scenarios.base import ScenarioItem
from duplex.speech.tts import tts_provenance

#: the examiner's language model by default: embedded, offline
DEFAULT_EXAMINER = "smollm2"


def load_writer(spec: str) -> Writer:
    """``script`` (the goals' lines as written) or a language model: ``smollm2`` (default),
    ``anthropic:model=...``, ``openai-compatible:base_url=...,model=...``."""
    if spec.strip() == "script":
        return ScriptWriter()
    parsed = parse_judge_spec(spec)
    factory = CHATS.get(parsed.name)
    writer: Writer = factory(parsed)
    return writer


class ExaminerSide:
    """Builds the examiner of each conversation item (``SessionOptions.user_side``)."""

    def __init__(self, spec: str = DEFAULT_EXAMINER, writer: Writer | None = None) -> None:
        self.spec = spec
        self.writer = writer or load_writer(spec)
        listen.load()  # the examiner's ears, loaded before any session's clock starts

    def __call__(self, item: ScenarioItem, frame_size: int) -> Examiner:
        prov = item.provenance
        voice = functools.partial(
            speak,
            voice=str(prov.get("voice", "joe")),
            rate=float(prov.get("rate", 1.0)),
            seed=int(prov.get("seed", 0)),
        )
        plan = item.annotations.conversation
        if plan is None:
            raise ConfigError(f"item {item.item_id!r} has no conversation for the examiner")
        # Lines that depend on their goal only are written and synthesised now, before the
        # session's clock starts: a real-time examiner then speaks as soon as it decides to, and
        # every model is asked the same thing. The scripted lines are synthesised too (a line
        # the writer's model gets wrong is replaced by its script).
        prepared: dict[int, Line] = {}
        for k, goal in enumerate(plan.goals):
            if not self.writer.contextual:
                prepared[k] = self.writer.write(LineRequest(plan.kind, goal, "prepared"))
                voice(prepared[k].text)
            voice(goal.say)
        voice(CLOSING)
        return Examiner(
            item, frame_size, self.writer, hear=listen.transcribe, speak=voice, prepared=prepared
        )

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "writer": self.writer.describe(),
            "asr": listen.provenance(),
            "vad": {"backend": "silero", "streaming": True},
            "tts": tts_provenance(),
        }

    def close(self) -> None:
        self.writer.close()


__all__ = ["DEFAULT_EXAMINER", "Examiner", "ExaminerSide", "load_writer"]
