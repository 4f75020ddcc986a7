"""The batched lock-step driver: same recordings as single runs, slots refilled, compute charged."""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.errors import ConfigError
from duplex.events import ModelFailed, ModelText
from duplex.models.base import SessionInfo, StepOutput
from duplex.models.batch import BatchLockstepModel, BatchLockstepSession
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.batch import iter_lockstep_batch, run_lockstep_batch
from duplex.simulator.session import SessionFailed, SessionOptions, run_lockstep
from duplex.timeline import no_compute

F, RATE = 1920, 24000


def make_item(item_id: str, frames: int) -> ScenarioItem:
    rng = np.random.default_rng(zlib.crc32(item_id.encode()))
    audio = (rng.standard_normal(frames * F) * 0.1).astype(np.float32)
    return ScenarioItem("t", "1", item_id, audio, RATE, Annotations(speech=()), "h")


class _Chimes(BatchLockstepSession):
    """Each session's output depends on its own item id, step index and input only."""

    def __init__(self, model: Chimes, capacity: int) -> None:
        self.model, self.capacity = model, capacity
        self.ids: dict[int, str] = {}
        self.steps: dict[int, int] = {}

    def join(self, slot: int, info: SessionInfo) -> None:
        assert slot not in self.ids, "joined a busy slot"
        self.ids[slot], self.steps[slot] = info.item_id, 0

    def leave(self, slot: int) -> None:
        del self.ids[slot], self.steps[slot]

    def step(self, frames: Mapping[int, np.ndarray]) -> dict[int, StepOutput]:
        self.model.calls.append(sorted(frames))
        if len(self.model.calls) == self.model.crash_on_call:
            raise RuntimeError("device lost")
        out = {}
        for slot, frame in frames.items():
            item_id, n = self.ids[slot], self.steps[slot]
            level = 0.1 * ((zlib.crc32(item_id.encode()) + n) % 5) + 0.01 * float(frame[0] > 0)
            size = F - 1 if (item_id, n) == self.model.short_frame_at else F
            out[slot] = StepOutput(np.full(size, level, np.float32), (item_id,) if n == 0 else ())
            self.steps[slot] = n + 1
        return out


class Chimes(BatchLockstepModel):
    spec = "chimes"
    max_batch = 4

    def __init__(
        self, crash_on_call: int | None = None, short_frame_at: tuple[str, int] | None = None
    ) -> None:
        self.calls: list[list[int]] = []
        self.crash_on_call = crash_on_call
        self.short_frame_at = short_frame_at
        self.opened = 0

    def open_batch(self, capacity: int) -> BatchLockstepSession:
        self.opened += 1
        return _Chimes(self, capacity)


def test_a_batched_run_records_exactly_what_single_runs_record() -> None:
    items = [make_item(f"i{k}", frames) for k, frames in enumerate([7, 3, 5, 4, 6])]
    opts = SessionOptions(stopwatch=no_compute())
    singles = [run_lockstep(Chimes(), it, opts) for it in items]
    batched = run_lockstep_batch(Chimes(), items, opts, batch=3)
    for one, many in zip(singles, batched, strict=True):
        assert isinstance(many, type(one))
        assert np.array_equal(one.model, many.model) and np.array_equal(one.user, many.user)
        assert [(type(e), e.at) for e in one.events] == [(type(e), e.at) for e in many.events]
        assert many.timings["batch"] == 3


def test_sessions_leave_as_they_end_and_the_next_item_takes_the_slot() -> None:
    model = Chimes()
    items = [make_item(f"i{k}", frames) for k, frames in enumerate([2, 5, 3, 1])]
    order = [i.item_id for _, i, _ in iter_lockstep_batch(model, items, SessionOptions(), 2)]
    # i0 (2 frames) ends after step 2, i2 joins slot 0 for steps 3-5, i1 ends at step 5 with
    # it, then i3 runs alone: 6 forwards in all, never one per session.
    assert model.calls == [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0]]
    assert order == ["i0", "i1", "i2", "i3"]


def test_every_session_in_a_step_is_charged_the_whole_step() -> None:
    # Step k (1-based) takes 0.01 * k s of wall time on this stopwatch.
    ticks = iter(np.cumsum([x for k in range(1, 50) for x in (0.0, 0.01 * k)]).tolist())
    items = [make_item("a", 2), make_item("b", 4)]
    recs = run_lockstep_batch(Chimes(), items, SessionOptions(stopwatch=lambda: next(ticks)), 2)
    a, b = recs
    assert isinstance(a, type(b))
    assert a.timings["compute_s_total"] == pytest.approx(0.01 + 0.02)
    assert b.timings["compute_s_total"] == pytest.approx(0.01 + 0.02 + 0.03 + 0.04)
    # The share (for throughput) divides each step by the sessions in it.
    assert a.timings["compute_s_shared_total"] == pytest.approx(0.015)
    assert b.timings["compute_s_shared_total"] == pytest.approx(0.015 + 0.03 + 0.04)
    assert b.timings["batch_rows_mean"] == pytest.approx(1.5)
    # Each session's timeline queues its steps as a single run would: b's step 1 (index 1) is
    # heard at max(ready 2F, done F + 0.01 s) + 0.02 s.
    starts = [e.at for e in b.events if isinstance(e, ModelText)]
    assert starts == [F + round(0.01 * RATE)]
    first = 2 * F + round(0.02 * RATE)
    assert b.model[first + F - 1] == pytest.approx(0.1 * ((zlib.crc32(b"b") + 1) % 5), abs=0.011)


def test_a_crashed_step_fails_its_sessions_and_the_others_still_run() -> None:
    model = Chimes(crash_on_call=3)
    items = [make_item(f"i{k}", 4) for k in range(3)]
    results = run_lockstep_batch(model, items, SessionOptions(stopwatch=no_compute()), 2)
    assert [type(r).__name__ for r in results] == ["SessionFailed", "SessionFailed", "Recording"]
    failed = results[0]
    assert isinstance(failed, SessionFailed)
    assert "batched step crashed" in failed.reason and "device lost" in failed.reason
    assert isinstance(failed.recording.events[-1], ModelFailed)
    assert model.opened == 2  # the batch was reopened for the item that was left


def test_a_malformed_frame_fails_only_its_session() -> None:
    model = Chimes(short_frame_at=("i1", 2))
    items = [make_item(f"i{k}", 4) for k in range(3)]
    results = run_lockstep_batch(model, items, SessionOptions(stopwatch=no_compute()), 3)
    assert [type(r).__name__ for r in results] == ["Recording", "SessionFailed", "Recording"]
    assert "(1919,) samples" in str(results[1])


def test_batch_size_is_checked_against_the_model() -> None:
    with pytest.raises(ConfigError, match="batch 5 is outside"):
        run_lockstep_batch(Chimes(), [make_item("a", 2)], SessionOptions(), 5)


def test_a_batch_model_is_a_lockstep_model_of_batch_one() -> None:
    model = Chimes()
    rec = run_lockstep(model, make_item("x", 3), SessionOptions(stopwatch=no_compute()))
    assert model.calls == [[0], [0], [0]]
    assert [e.text for e in rec.events if isinstance(e, ModelText)] == ["x"]
