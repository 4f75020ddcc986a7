"""Design of the backchannel, turn_taking and user_interruption suites, checked on the specs.

No rendering here: lengths are estimated from the text with per-rate speaking speeds (letters and
digits per second of trimmed speech) measured over a full render of each suite and widened by
about 5 %. The rendering tests (test_render_tasks.py) render the shortest item of each suite.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from duplex.metrics.backchannel_reference import BACKCHANNEL_MIN_PAUSE, boundary
from duplex.scenarios import ItemSpec, Suite, load_suite

BC = load_suite("backchannel")
TT = load_suite("turn_taking")
UI = load_suite("user_interruption")

# Measured letters/s of trimmed speech per TTS rate (min, max over all items), widened ~5 %.
# Long monologues vary less than short turns (sentence-final lengthening weighs less).
SPEED = {
    "backchannel": {0.85: (14.6, 19.0), 1.0: (12.4, 18.9), 1.25: (11.8, 14.8)},
    "turn_taking": {0.85: (13.2, 21.4), 1.0: (11.9, 20.0), 1.25: (8.9, 16.1)},
    "user_interruption": {0.85: (11.0, 23.7), 1.0: (11.1, 21.8), 1.25: (10.1, 17.6)},
}


def letters(texts: tuple[str, ...] | list[str]) -> int:
    return sum(len(re.findall(r"[A-Za-z0-9]", t)) for t in texts)


def turn_bounds(suite: Suite, item: ItemSpec) -> tuple[float, float]:
    """(shortest, longest) plausible turn length in seconds: speech estimate plus pauses."""
    slow, fast = SPEED[suite.name][item.rate]
    n, pauses = letters(item.texts), sum(item.pauses)
    return n / fast + pauses, n / slow + pauses


def test_speed_table_covers_every_rate() -> None:
    for suite in (BC, TT, UI):
        assert {item.rate for item in suite.spec.items} <= set(SPEED[suite.name])


@pytest.mark.parametrize("suite", [BC, TT, UI], ids=lambda s: s.name)
def test_suite_headers_voices_and_rates(suite: Suite) -> None:
    assert suite.task == suite.name and suite.version == "1.0" and len(suite) >= 50
    assert suite.spec.defaults.lead_in == 0.5
    voices = Counter(item.voice for item in suite.spec.items)
    rates = Counter(item.rate for item in suite.spec.items)
    assert set(voices) == {"joe", "joe-low", "joe-high"} and min(voices.values()) >= 15
    assert set(rates) == {0.85, 1.0, 1.25} and min(rates.values()) >= 15
    combos = Counter((item.voice, item.rate) for item in suite.spec.items)
    assert len(combos) == 9  # every voice at every rate
    texts = [" ".join(item.texts) for item in suite.spec.items]
    assert len(set(texts)) == len(texts)  # no repeated content


# --- backchannel ---


def test_backchannel_defaults_and_pause_spread() -> None:
    assert BC.spec.defaults.tail == 2.0
    pauses = [p for item in BC.spec.items for p in item.pauses]
    assert sum(0.2 <= p <= 0.8 for p in pauses) >= 0.8 * len(pauses)  # mostly 0.2-0.8 s
    assert sum(p < BACKCHANNEL_MIN_PAUSE for p in pauses) >= 10  # some below the threshold
    assert sum(p > 0.8 for p in pauses) >= 10  # and some long ones


@pytest.mark.parametrize("item", BC.spec.items, ids=lambda i: i.id)
def test_backchannel_item_design(item: ItemSpec) -> None:
    assert item.interrupt is None
    assert 9 <= len(item.texts) <= 16
    # Every chunk ends a clause or a sentence, so every pause is at a unit boundary.
    assert all(boundary(t) in ("clause", "sentence") for t in item.texts), item.texts
    assert item.texts[-1].endswith((".", "?", "!"))
    assert all(0.1 <= p <= 1.2 for p in item.pauses)
    # Pauses after sentence ends are longer than clause pauses (how people read aloud).
    for text, pause in zip(item.texts, item.pauses, strict=False):
        if boundary(text) == "sentence":
            assert pause >= 0.45, (text, pause)
        else:
            assert pause <= 0.45, (text, pause)
    assert sum(p >= BACKCHANNEL_MIN_PAUSE for p in item.pauses) >= 6  # reference points
    shortest, longest = turn_bounds(BC, item)
    assert shortest >= 20.0 and longest <= 36.0  # 20-60 s by the issue, mostly 20-35 s here


# --- turn_taking ---


def test_turn_taking_defaults() -> None:
    assert TT.spec.defaults.tail == 5.5  # at least 5 s of silence after the turn
    assert sum(len(item.pauses) == 1 for item in TT.spec.items) >= 5  # some with a breath


@pytest.mark.parametrize("item", TT.spec.items, ids=lambda i: i.id)
def test_turn_taking_item_design(item: ItemSpec) -> None:
    assert item.interrupt is None
    assert len(item.texts) <= 2 and all(0.2 <= p <= 0.4 for p in item.pauses)
    if item.pauses:  # the breath comes after a discourse marker or clause, never a turn end
        assert boundary(item.texts[0]) in ("clause", "sentence")
    assert item.texts[-1].endswith(("?", "."))
    shortest, longest = turn_bounds(TT, item)
    assert shortest >= 2.0 and longest <= 10.0


# --- user_interruption ---


def test_user_interruption_defaults_and_onsets() -> None:
    d = UI.spec.defaults
    assert d.tail == 10.5 and d.interrupt.fallback_after == 4.0
    onsets = Counter(item.interrupt.after_model_onset for item in UI.spec.items if item.interrupt)
    assert set(onsets) == {1.0, 1.5, 2.0, 2.5, 3.0} and min(onsets.values()) >= 10


@pytest.mark.parametrize("item", UI.spec.items, ids=lambda i: i.id)
def test_user_interruption_item_design(item: ItemSpec) -> None:
    assert item.interrupt is not None and item.pauses == ()
    context, interrupt = item.texts[0], item.interrupt
    assert context.endswith(("?", ".")) and interrupt.text.endswith(("?", "."))
    assert 1.0 <= interrupt.after_model_onset <= 3.0 and interrupt.fallback_after == 4.0
    # Interruptions announce themselves ("wait", "actually", "sorry", "hold on", ...).
    assert re.match(r"(Wait|Actually|Sorry|Hold on|Hang on)\b", interrupt.text), interrupt.text
    shortest, longest = turn_bounds(UI, item)
    assert shortest >= 1.2 and longest <= 8.0
    slow, fast = SPEED["user_interruption"][item.rate]
    assert letters([interrupt.text]) / fast >= 1.0 and letters([interrupt.text]) / slow <= 6.0
