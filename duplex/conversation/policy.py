"""The examiner's pacing: when it takes the turn, whether it yields, when it gives up.

Full-Duplex-Bench v2 runs its examiner (a realtime API) under two pacings: "fast" (the examiner
answers after 600 ms of silence and cannot be interrupted) and "slow" (the API's defaults: a
longer wait, and the examiner stops when talked over). Ours follow the same two ideas on our own
VAD and end-of-turn rule; the figures are ours:

- ``silence_s``: model silence after which the examiner checks whether the model's turn is over
  (the transcript must read as finished, :func:`duplex.models.cascade.turn.judge`);
- ``max_silence_s``: silence after which it takes the turn even from an unfinished one;
- ``yield_after_s``: model speech over the examiner's line after which the examiner stops
  (None: it never does);
- ``barge_after_s``: a model turn this long is cut short by the examiner's next line (None:
  never). A fast examiner is impatient with a model that will not stop;
- ``give_up_s``: silence after the examiner's line with no reply at all: the conversation ends
  (``model_silent``);
- ``tail_s``: how long the session goes on after the closing phrase.
"""

from __future__ import annotations

from dataclasses import dataclass

from duplex.registry import Registry


@dataclass(frozen=True)
class Policy:
    name: str
    silence_s: float
    max_silence_s: float
    yield_after_s: float | None
    barge_after_s: float | None
    give_up_s: float
    tail_s: float = 1.5


POLICIES: Registry[Policy] = Registry("examiner policy")
POLICIES.add(
    "fast",
    Policy(
        "fast",
        silence_s=0.6,
        max_silence_s=1.6,
        yield_after_s=None,
        barge_after_s=12.0,
        give_up_s=8.0,
    ),
    "answers after 0.6 s of silence, cannot be interrupted, cuts a model turn after 12 s",
)
POLICIES.add(
    "slow",
    Policy(
        "slow",
        silence_s=1.2,
        max_silence_s=2.4,
        yield_after_s=0.6,
        barge_after_s=None,
        give_up_s=10.0,
    ),
    "answers after 1.2 s of silence, stops when talked over for 0.6 s, never interrupts",
)
