"""How loud the user's own voice is, and whether other speech is much quieter than it.

Speech not meant for the agent reaches its microphone weaker than the user's: the user turned
away to talk to someone in the room (Full-Duplex-Bench v1.5 renders that 8 dB down, with the
highs cut), a TV or a conversation elsewhere (15 dB down). The words do not tell - "could you
pass the salt?" is a fine request to an agent - but the level does: the agent learns the level of
the turns it answered (speech addressed to it) and treats speech ``far_db`` or more below that as
not addressed to it. The figure is a mean power over voiced 32 ms chunks (the VAD's), in the
energy domain so that a few loud syllables weigh what they weigh; a short run's mean is noisy
(the first syllables of an utterance are often its loudest), so callers decide again as the
overlap goes on.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from duplex.audio import Samples

_FLOOR = 1e-12


def power(chunk: Samples) -> float:
    """Mean square of a chunk (float64), never 0."""
    return float(np.mean(np.square(chunk, dtype=np.float64))) + _FLOOR if chunk.size else _FLOOR


class VoiceLevels:
    """Voiced chunks' powers by their end sample, and the level of the turns addressed to us."""

    def __init__(self) -> None:
        self._ends: list[int] = []
        self._powers: list[float] = []
        self._cum: list[float] = [0.0]  # prefix sums of the powers
        self._ref_sum = 0.0
        self._ref_n = 0

    def add(self, end: int, chunk_power: float) -> None:
        """A voiced chunk ending at sample ``end`` (ends increase)."""
        self._ends.append(end)
        self._powers.append(chunk_power)
        self._cum.append(self._cum[-1] + chunk_power)

    def _range(self, start: int, end: int) -> tuple[int, int]:
        """Indices of the chunks ending in ``(start, end]``."""
        return bisect.bisect_right(self._ends, start), bisect.bisect_right(self._ends, end)

    def level_db(self, start: int, end: int) -> float | None:
        """Mean power in dB of the voiced chunks ending in ``(start, end]`` (None: none)."""
        lo, hi = self._range(start, end)
        if hi <= lo:
            return None
        return 10.0 * math.log10((self._cum[hi] - self._cum[lo]) / (hi - lo))

    def addressed(self, start: int, end: int) -> None:
        """The voiced chunks in ``(start, end]`` were a turn the agent answered."""
        lo, hi = self._range(start, end)
        self._ref_sum += self._cum[hi] - self._cum[lo]
        self._ref_n += hi - lo

    @property
    def reference_db(self) -> float | None:
        """The user's level: the answered turns' mean power in dB (None before the first)."""
        if not self._ref_n:
            return None
        return 10.0 * math.log10(self._ref_sum / self._ref_n)

    def below_user_db(self, start: int, end: int) -> float | None:
        """How many dB the speech in ``(start, end]`` is below the user's level (None: no
        reference yet, or no voiced chunk there)."""
        ref, level = self.reference_db, self.level_db(start, end)
        if ref is None or level is None:
            return None
        return ref - level
