"""Which stretches of a recording Whisper reads: windows of at most 30 s, planned from the VAD.

Whisper's encoder always reads 30 s (shorter audio is padded), and on a CPU that pass costs as
much as decoding the words of a busy window, so the number of windows sets the price of a
transcript. Whisper's own long-form loop decodes a window, then starts the next one where the
last complete phrase ended; after a busy window that is nearly always a second window over the
last few seconds, and after a quiet one a window over silence. Planning the windows from the
speech instead, once, lets every window of every recording be decoded at the same time.

The plan, for ``n`` samples with VAD segments ``speech``:

- a recording of at most 30 s is one window over all of it: the same audio, from the same
  first sample, as the first window of Whisper's loop;
- a longer one is covered by windows that start :data:`LEAD_S` before an utterance (a VAD
  segment widened by :data:`TAIL_S`; without the lead Whisper misses or mistimes a first word
  that starts right at the window's edge), run over as many whole utterances as fit into 30 s,
  and skip the silence between windows;
- an utterance that does not fit into one window on its own (half a minute without a 0.1 s
  pause) is cut where the signal is quietest in the window's last :data:`CUT_SEARCH_S`.

Every window is a contiguous stretch of the recording, so a word's time in a window is its time
in the recording plus the window's start.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from duplex.audio import Samples
from duplex.timeline import Span

RATE = 16000
WINDOW_S = 30.0
#: Audio kept before the first utterance of a window (when the previous window leaves room).
LEAD_S = 1.0
#: Audio kept after an utterance, beyond the VAD's edge (word tails, the release of a stop).
TAIL_S = 0.3
#: Where to look for a cut inside an utterance longer than a window, and in what steps.
CUT_SEARCH_S = 5.0
_CUT_FRAME = 320  # 20 ms at 16 kHz


def plan_windows(speech: Sequence[Span], x16: Samples) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of 16 kHz audio ``x16`` for Whisper (module doc)."""
    n = x16.size
    width = round(WINDOW_S * RATE)
    if not speech or n == 0:
        return []
    if n <= width:
        return [(0, n)]
    windows: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for a, b in _utterances(speech, n):
        if start is not None and b - start <= width:
            end = b  # the utterance fits into the open window
            continue
        if start is not None:
            windows.append((start, end))
        lead_from = windows[-1][1] if windows else 0
        start = max(lead_from, a - round(LEAD_S * RATE))
        while b - start > width:  # longer than a window: cut it where it is quietest
            cut = _quietest(x16, start + width - round(CUT_SEARCH_S * RATE), start + width)
            windows.append((start, cut))
            start = cut
        end = b
    if start is not None:
        windows.append((start, end))
    return windows


def _utterances(speech: Sequence[Span], n: int) -> list[tuple[int, int]]:
    """VAD segments widened by TAIL_S at both ends, in samples, overlapping ones joined."""
    out: list[tuple[int, int]] = []
    pad = round(TAIL_S * RATE)
    for s in sorted(speech, key=lambda s: s.start):
        a = max(0, round(s.start * RATE) - pad)
        b = min(n, round(s.end * RATE) + pad)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif b > a:
            out.append((a, b))
    return out


def _quietest(x16: Samples, lo: int, hi: int) -> int:
    """Start of the 20 ms frame of least energy in ``[lo, hi)``: the place to cut speech."""
    frames = (hi - lo) // _CUT_FRAME
    if frames <= 1:
        return hi
    seg = x16[lo : lo + frames * _CUT_FRAME].reshape(frames, _CUT_FRAME)
    energy = np.einsum("ij,ij->i", seg, seg)
    return lo + int(np.argmin(energy)) * _CUT_FRAME
