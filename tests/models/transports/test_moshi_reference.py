"""Conformance: our moshi+ws client against the genuine Moshi server from PyPI."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from duplex.annotations import Annotations
from duplex.events import ModelAudio, ModelFailed, ModelText
from duplex.models.registry import load_model
from duplex.scenarios.base import ScenarioItem
from duplex.simulator.session import SessionOptions, run_realtime

RATE, FRAME = 24000, 1920


def _speechlike(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-rate amplitude modulation
    return (0.2 * envelope * np.sin(2 * np.pi * (150 + 50 * t) * t)).astype(np.float32)


@pytest.mark.slow
def test_session_with_the_genuine_moshi_server(moshi_reference: str) -> None:
    seconds = 10.0
    audio = _speechlike(seconds)
    item = ScenarioItem("conformance", "1", "ref", audio, RATE, Annotations(speech=()), "h")
    # A query the Python server ignores must pass through untouched (PersonaPlex reads it).
    spec = f"moshi+{moshi_reference}?text_prompt=You%20enjoy%20chatting.&voice_prompt=NATF2"
    # Every answer is kept wherever it lands (max_backlog_ms=-1): this test counts the server's
    # answers, and on a slow machine the default jitter policy drops some of a catch-up burst
    # (that policy has its own tests against the fake server).
    model = load_model(spec + "#handshake_timeout=60&max_backlog_ms=-1")
    # A long drain: on a busy machine the tiny model runs below real time and answers late.
    rec = asyncio.run(run_realtime(model, item, SessionOptions(drain_s=8.0)))

    n_frames = audio.size // FRAME
    assert rec.model.size == rec.user.size == audio.size  # a recording of the right length
    assert not any(isinstance(e, ModelFailed) for e in rec.events)
    chunks = [e for e in rec.events if isinstance(e, ModelAudio)]
    texts = [e for e in rec.events if isinstance(e, ModelText)]
    # One output frame per input frame after the first (the server drops its first input).
    assert n_frames - 3 <= len(chunks) <= n_frames - 1
    assert all(c.samples.size == FRAME for c in chunks)
    assert np.abs(rec.model).max() > 0.0  # audio came back, decoded from Ogg/Opus
    assert texts and all(t.text for t in texts)  # random weights speak text nearly every frame
    # Output k answers input k+1, complete at (k+2)F: what is left is server compute + transport.
    latency_ms = np.array([(c.at - (k + 2) * FRAME) / RATE * 1000 for k, c in enumerate(chunks)])
    print(
        f"\nmoshi reference: {len(chunks)} audio / {len(texts)} text messages for {n_frames} "
        f"frames; latency p50 {np.median(latency_ms):.1f} ms, p99 "
        f"{np.percentile(latency_ms, 99):.1f} ms, last answer "
        f"{chunks[-1].at / RATE - seconds:+.2f} s after the audio's end; send lateness p99 "
        f"{rec.timings['send_lateness_ms_p99']:.2f} ms"
    )
    # Stamped on one clock, no answer can come before the input it answers was sent. Alone the
    # server answers in ~30 ms; how late it is under load depends on the machine, not on us.
    assert latency_ms.min() >= 0.0
    assert np.all(np.diff([c.at for c in chunks]) >= 0)
