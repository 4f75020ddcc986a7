from __future__ import annotations

import gc

from duplex.simulator.gcpause import few_gc_pauses


def test_objects_are_frozen_and_the_policy_restored() -> None:
    before = gc.get_threshold()
    keep = [object() for _ in range(10)]
    with few_gc_pauses(young=12345):
        assert gc.get_threshold()[0] == 12345
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_policy_is_restored_when_the_block_raises() -> None:
    before = gc.get_threshold()
    try:
        with few_gc_pauses():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
