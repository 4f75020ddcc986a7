"""Batched lock-step: many scenario items stepped together, one batched forward per frame.

A :class:`~duplex.models.batch.BatchLockstepModel` is opened with ``batch`` slots. Items join free
slots in order, every step advances all occupied slots with one call of the model, and an item
leaves its slot when its last frame has been stepped; the next item takes the slot at once, so
items of different lengths keep the batch full until the queue runs dry.

Each item keeps its own :class:`~duplex.simulator.session.LockstepTrack`: its own user playback
(reactive cues placed from its own model audio), recorder and timeline, exactly as in
:func:`~duplex.simulator.session.run_lockstep`.

**Compute charged to each session.** Every session in a batched step is charged the step's whole
wall time: step ``n`` of a session starts when its frame is ready and its previous step is done,
and its output is heard ``wall`` seconds later. That is what each session would experience if the
model served those streams together in real time: no stream's frame exists before the batched
forward that computes all of them has finished, so each of them waited for the whole of it.
Dividing the wall time by the batch size would describe the model's cost, not any stream's
latency, and would let a batched run look faster-reacting than the same model served live.
The divided figure is still recorded, as ``compute_s_shared_total`` (the session's share of the
machine time, for throughput), beside ``batch_rows_mean`` (how many sessions shared its steps on
average). A batched step that raises fails every session in it; the batch is reopened for the
items that remain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from duplex.errors import ConfigError
from duplex.models.base import StepOutput
from duplex.models.batch import BatchLockstepModel, BatchLockstepSession
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.recording import Recording
from duplex.simulator.session import LockstepTrack, SessionFailed, SessionOptions

Result = Recording | SessionFailed


@dataclass
class _Slot:
    index: int  # the item's position in the input order
    track: LockstepTrack
    shared_s: float = 0.0  # the session's share of the steps' wall time
    rows: int = 0  # sessions stepped together, summed over the session's steps

    def extra(self, batch: int) -> dict[str, float | int]:
        steps = max(self.track.n, 1)
        return {
            "batch": batch,
            "batch_rows_mean": self.rows / steps,
            "compute_s_shared_total": self.shared_s,
        }


def iter_lockstep_batch(
    model: BatchLockstepModel, items: Iterable[ScenarioItem], opts: SessionOptions, batch: int
) -> Iterator[tuple[int, ScenarioItem, Result]]:
    """Step ``items`` ``batch`` at a time; yield ``(index, item, result)`` as each one ends.

    ``items`` is consumed lazily (an item is rendered when a slot is free for it). A failure of
    one session is yielded as :class:`SessionFailed` with its partial recording and the others go
    on.
    """
    if not 1 <= batch <= model.max_batch:
        raise ConfigError(
            f"batch {batch} is outside what model {model.spec!r} takes (1 to {model.max_batch})"
        )
    queue = enumerate(items)
    watch = opts.stopwatch
    slots: dict[int, _Slot] = {}
    session = model.open_batch(batch)
    try:
        while True:
            yield from _fill(session, slots, queue, model, opts, batch)
            if not slots:
                return
            frames = {s: slot.track.next_frame() for s, slot in slots.items()}
            t = watch()
            try:
                outs = session.step(frames)
            except Exception as exc:
                for slot in slots.values():
                    item = slot.track.item
                    yield slot.index, item, slot.track.crashed(exc, "batched step crashed")
                slots.clear()
                session.close()  # its state is unknown after a failed step
                session = model.open_batch(batch)
                continue
            wall = watch() - t
            for s in list(slots):
                done = _place(slots[s], outs, s, wall, len(frames), batch)
                if done is not None:
                    session.leave(s)
                    yield slots.pop(s).index, done[0], done[1]
    finally:
        session.close()


def _fill(
    session: BatchLockstepSession,
    slots: dict[int, _Slot],
    queue: Iterator[tuple[int, ScenarioItem]],
    model: BatchLockstepModel,
    opts: SessionOptions,
    batch: int,
) -> Iterator[tuple[int, ScenarioItem, Result]]:
    """Start the next items in the free slots; an item with no frames ends at once."""
    for s in range(batch):
        while s not in slots:
            nxt = next(queue, None)
            if nxt is None:
                return
            index, item = nxt
            track = LockstepTrack(model, item, opts)
            if track.done:
                yield index, item, track.finish({"batch": batch})
                continue
            try:
                session.join(s, track.info)
            except Exception as exc:
                yield index, item, track.crashed(exc, "model failed to start the session")
                continue
            slots[s] = _Slot(index, track)


def _place(
    slot: _Slot, outs: dict[int, StepOutput], s: int, wall: float, rows: int, batch: int
) -> tuple[ScenarioItem, Result] | None:
    """Put slot ``s``'s output on its timeline; the finished result if the session ended."""
    track = slot.track
    out = outs.get(s)
    try:
        if not isinstance(out, StepOutput):
            problem = RuntimeError(f"step returned {type(out).__name__} for slot {s}")
            raise track.crashed(problem, "model broke the batch contract")
        track.place(out, wall)
    except SessionFailed as exc:
        return track.item, exc
    slot.shared_s += wall / rows
    slot.rows += rows
    if track.done:
        return track.item, track.finish(slot.extra(batch))
    return None


def run_lockstep_batch(
    model: BatchLockstepModel, items: Iterable[ScenarioItem], opts: SessionOptions, batch: int
) -> list[Result]:
    """Every item's recording (or failure), in the order of ``items``."""
    results: dict[int, Result] = {}
    for index, _, result in iter_lockstep_batch(model, items, opts, batch):
        results[index] = result
    return [results[i] for i in sorted(results)]
