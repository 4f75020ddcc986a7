"""The one playout core and its storages: each site's policy, and invariants for any policy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from duplex.playout import (
    FRAME_SYNCHRONOUS,
    SPEAKER,
    STREAMING,
    ArrayPlayout,
    Backlog,
    DeviceQueue,
    FrameReader,
    Playout,
    PlayoutPolicy,
    frame_reader,
    is_silent,
    jitter_buffer,
)


def ones(n: int, v: float = 1.0) -> np.ndarray:
    return np.full(n, v, np.float32)


def test_playout_drops_backlogged_silence_never_speech() -> None:
    # Moved from tests/live/test_live.py with the speaker's queue (was duplex.live.session.Playout).
    def pulled(p: DeviceQueue, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        p.pull(out)
        return out

    silence, speech = np.zeros(8, np.float32), np.full(8, 0.5, np.float32)
    p = DeviceQueue()
    p.push(silence)
    p.push(speech)  # arrives while the silence is still queued: the silence goes
    assert pulled(p, 8).tolist() == speech.tolist()
    p.push(speech)
    p.push(speech)  # speech behind speech is kept, however long the queue
    p.push(silence)  # silence behind a backlog is dropped
    assert pulled(p, 24).tolist() == [0.5] * 16 + [0.0] * 8
    p.push(silence)
    assert pulled(p, 3).tolist() == [0.0] * 3  # a silent head, partly played...
    p.push(speech)  # ...loses what it has left when speech arrives
    assert pulled(p, 8).tolist() == speech.tolist()
    assert p.skipped_silence == 8 + 8 + 5


def test_speaker_clear_drops_the_queue_and_counts_it() -> None:
    p = DeviceQueue()
    p.push(ones(10, 0.5))
    p.pull(np.zeros(4, np.float32))
    p.clear()
    out = np.full(5, 9.0, np.float32)
    p.pull(out)  # nothing queued: the device's buffer is left as it is
    assert out.tolist() == [9.0] * 5 and p.cleared_samples == 6


def test_jitter_buffer_drops_a_late_chunk_whole_and_keeps_a_gap() -> None:
    p = Playout(jitter_buffer(5))
    assert p.offer(0, ones(10)).start == 0
    assert p.offer(4, ones(10)).dropped  # would start 6 late: over the limit
    assert p.offer(6, ones(10)).start == 10  # 4 late: kept
    assert p.counts.dropped_late == 10 and p.counts.dropped_chunks == 1
    assert p.offer(40, ones(3)).start == 40  # after a stall: from its arrival, not shifted


def test_frame_reader_plays_late_audio_at_once_and_bounds_its_memory() -> None:
    r = FrameReader(4, frame_reader(12))
    r.add(0, ones(6))
    assert r.take().tolist() == [1.0] * 4
    r.add(2, ones(2, 2.0))  # queued behind the first chunk: plays 6..8
    r.add(1, ones(4, 3.0))  # plays 8..12
    assert r.take().tolist() == [1.0, 1.0, 2.0, 2.0]
    assert r.take().tolist() == [3.0] * 4
    r.add(5, ones(2, 4.0))  # stamped before the reader's position (12): plays at once
    r.add(12, ones(20))  # would end 22 samples past the reader: dropped whole
    assert r.take().tolist() == [4.0, 4.0, 0.0, 0.0]
    assert r.core.counts.dropped_full == 20
    r.add(16, ones(8, 5.0))
    r.cut(3)  # a cut before the reader's position cuts from there
    assert r.take().tolist() == [0.0] * 4 and r.core.counts.cut == 8


def test_array_playout_clears_what_a_cut_removes() -> None:
    a = ArrayPlayout(20)
    a.add(2, ones(10))
    a.cut(5)
    a.add(6, ones(3, 2.0))
    assert a.channel.tolist() == [0, 0, 1, 1, 1, 0, 2, 2, 2] + [0.0] * 11


def test_silence_is_digital_zeros_or_below_the_level() -> None:
    assert is_silent(np.zeros(4, np.float32), 0.0)
    assert not is_silent(ones(4, 1e-6), 0.0) and is_silent(ones(4, 1e-6), 1e-4)
    assert is_silent(np.zeros(0, np.float32), 0.0)


# -- invariants, for the named policies and any combination ---------------------------------------

POLICIES = st.one_of(
    st.sampled_from([STREAMING, FRAME_SYNCHRONOUS, SPEAKER, jitter_buffer(3), frame_reader(40)]),
    st.builds(
        PlayoutPolicy,
        name=st.just("any"),
        queued_silence=st.sampled_from(["keep", "skip"]),
        backlog=st.none()
        | st.builds(Backlog, st.integers(0, 20), st.sampled_from(["chunk", "silence"])),
        capacity=st.none() | st.integers(0, 60),
        end=st.none() | st.integers(0, 200),
        silence_level=st.sampled_from([0.0, 1e-4]),
    ),
)
#: (what, time step, size, silent?)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["offer", "offer", "offer", "cut", "advance"]),
        st.integers(0, 12),
        st.integers(0, 15),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(POLICIES, OPS)
def test_placement_invariants(policy: PlayoutPolicy, ops: list[tuple[str, int, int, bool]]) -> None:
    p = Playout(policy)
    heard: list[list[int]] = []  # [start, stop) of every placed chunk, less what was cleared
    at = offered = waited = 0

    def clear(start: int) -> None:
        heard[:] = [[min(begin, start), min(end, start)] for begin, end in heard]

    for what, dt, n, silent in ops:
        at += dt
        if what == "advance":
            p.advance(n)
            continue
        if what == "cut":
            before = p.cursor
            cleared = p.cut(at - n)
            assert p.cursor <= before  # a cut never moves the cursor forward
            if cleared is not None:
                assert cleared.start >= p.head
                clear(cleared.start)
            continue
        x = np.zeros(n, np.float32) if silent else ones(n, 0.5)
        silent = not x.any()  # an empty chunk is silent too
        head, offered = p.head, offered + n
        placed = p.offer(at, x)
        if placed.cleared is not None:
            clear(placed.cleared.start)
        if placed.fate != "placed":
            # Speech is never skipped; the silence-only backlog never drops it either.
            assert silent or placed.fate == "dropped"
            assert not (policy is SPEAKER and not silent)
            continue
        start, stop = placed.start, placed.start + placed.hi - placed.lo
        assert start >= at and start >= head  # never before its arrival nor the reader
        assert all(start >= end for _, end in heard)  # never over anything still queued
        assert placed.lo == 0 or silent  # only silence loses its front
        if policy.end is not None:
            assert stop <= max(start, policy.end)
        heard.append([start, stop])
        waited += start - at
    c = p.counts
    assert c.placed + c.dropped + c.skipped == c.offered == offered
    assert c.delayed == waited


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_the_storages_agree(ops: list[tuple[str, int, int, bool]]) -> None:
    # The Recorder's array and serve's frame reader hold the same audio for the same chunks.
    frame, length = 5, 1000
    array, reader = ArrayPlayout(length), FrameReader(frame, frame_reader(length))
    at = 0
    for what, dt, n, silent in ops:
        at += dt
        if what == "offer":
            x = np.zeros(n, np.float32) if silent else np.arange(1, n + 1, dtype=np.float32)
            array.add(at, x)
            reader.add(at, x)
        elif what == "cut":
            array.cut(at - n)
            reader.cut(at - n)
    read = np.concatenate([reader.take() for _ in range(length // frame)])
    assert np.array_equal(read, array.channel)
