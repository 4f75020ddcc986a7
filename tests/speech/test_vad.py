"""Silero VAD: the ONNX signature, streaming vs offline, silence, and edge precision on speech."""

from __future__ import annotations

import time

import numpy as np
import pytest

from duplex.audio import Samples
from duplex.errors import AudioError, UnknownNameError
from duplex.speech import edges, silero
from duplex.speech.vad import (
    VAD_BACKENDS,
    StreamingVad,
    _hysteresis,
    speech_probabilities,
    speech_segments,
    vad_provenance,
)
from duplex.timeline import Span
from tests.speech.speechdata import RATE, place, say

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Yeah.",
    "So what do you think about that?",
    "Five sisters sat silently.",
]
GAINS = [0.5, 0.3, 0.8, 0.15]  # peak levels: -6 to -16.5 dBFS


def test_onnx_signature_is_the_split_lstm_export() -> None:
    sess = silero.session()
    ins = {i.name: i.shape for i in sess.get_inputs()}
    assert ins["input"][1] == silero.CONTEXT + silero.CHUNK
    assert ins["h"] == ins["c"] == [1, 1, 128]
    assert [o.name for o in sess.get_outputs()] == ["speech_probs", "hn", "cn"]


def test_rows_are_a_sequence_so_one_call_equals_chunk_by_chunk() -> None:
    rng = np.random.default_rng(0)
    chunks = (rng.standard_normal((12, silero.CHUNK)) * 0.1).astype(np.float32)
    together = silero.run_chunks(chunks, silero.SileroState())
    state = silero.SileroState()
    one_by_one = np.concatenate([silero.run_chunks(chunks[i : i + 1], state) for i in range(12)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


@pytest.fixture(scope="module")
def scene() -> tuple[Samples, list[tuple[float, float]]]:
    """Four utterances at awkward (non-chunk-aligned) times; returns audio and true spans."""
    starts = [0.537, 3.9013, 5.1234, 8.0007]
    clips = [(t, say(s, gain=g)) for t, s, g in zip(starts, SENTENCES, GAINS, strict=True)]
    truth = [(t, t + c.size / RATE) for t, c in clips]
    return place(clips, 11.0), truth


def _match(segs: list[Span], truth: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(onset error, offset error) per true span, from the segments overlapping it."""
    errs = []
    for a, b in truth:
        over = [s for s in segs if s.end > a - 0.1 and s.start < b + 0.1]
        assert over, f"speech at {a:.3f}-{b:.3f} s not detected"
        errs.append((over[0].start - a, over[-1].end - b))
    return errs


def test_speech_edges_are_within_10ms_on_clean_speech(scene) -> None:
    x, truth = scene
    errs = np.abs(np.array(_match(speech_segments(x, RATE), truth)))
    raw = np.abs(np.array(_match(speech_segments(x, RATE, refine=False), truth)))
    # Measured: onsets within 8 ms, offsets within 5 ms (chunk edges alone: up to ~65 ms).
    assert errs[:, 0].max() < 0.010, errs
    assert errs[:, 1].max() < 0.010, errs
    assert errs.mean() < raw.mean()


def test_speech_edges_in_noise_are_within_20ms_onset(scene) -> None:
    x, truth = scene
    noise = np.random.default_rng(3).standard_normal(x.size).astype(np.float32) * 0.001
    errs = np.abs(np.array(_match(speech_segments(x + noise, RATE), truth)))
    assert errs[:, 0].max() < 0.020, errs
    # Soft word endings fall under a -60 dBFS floor, so offsets may come early; bounded still.
    assert errs[:, 1].max() < 0.060, errs


def test_silence_and_quiet_noise_have_no_activity() -> None:
    assert speech_segments(np.zeros(RATE * 5, np.float32), RATE) == []
    noise = np.random.default_rng(1).standard_normal(RATE * 5).astype(np.float32) * 0.003
    assert speech_segments(noise, RATE) == []
    assert speech_segments(np.zeros(0, np.float32), RATE) == []


def test_pad_and_min_speech() -> None:
    x = place([(1.0, say("Yeah."))], 3.0)
    (seg,) = speech_segments(x, RATE)
    (padded,) = speech_segments(x, RATE, pad=0.2)
    assert padded.start == pytest.approx(seg.start - 0.2, abs=1e-4)
    assert padded.end == pytest.approx(seg.end + 0.2, abs=1e-4)
    assert speech_segments(x, RATE, min_speech=seg.duration + 0.01) == []


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(AudioError, match="threshold"):
        speech_segments(np.zeros(100, np.float32), RATE, threshold=1.5)


def test_hysteresis_rule() -> None:
    p = np.array([0, 0.6, 0.9, 0.4, 0.9, 0.2, 0.2, 0.2, 0.7, 0.1], np.float32)
    # 0.4 is above threshold - 0.15: still speech; two chunks below 0.35 end a segment
    assert _hysteresis(p, 0.5, 2) == [(1, 5), (8, 9)]
    assert _hysteresis(p, 0.5, 4) == [(1, 9)]  # a 3-chunk dip is bridged
    assert _hysteresis(np.array([0.9, 0.9], np.float32), 0.5, 2) == [(0, 2)]


def test_edge_refinement_is_sample_accurate_on_a_sharp_burst() -> None:
    # A 200 Hz harmonic burst from sample 10_000 to 40_000, VAD edges one chunk off each way.
    n = np.arange(30_000)
    burst = 0.3 * np.sin(2 * np.pi * 200 * n / RATE) + 0.1 * np.sin(2 * np.pi * 600 * n / RATE)
    x = np.zeros(60_000, np.float32)
    x[10_000:40_000] = burst
    env = edges.Envelope(x, RATE)
    [(s, e)] = edges.refine(env, [(10_000 + 700, 40_000 + 700)], 768, RATE)
    assert abs(s - 10_000) <= 2 and abs(e - 40_000) <= 2
    [(s, e)] = edges.refine(env, [(10_000 - 700, 40_000 - 700)], 768, RATE)
    assert abs(s - 10_000) <= 2 and abs(e - 40_000) <= 2


def test_streaming_matches_offline_at_any_chunking(scene) -> None:
    x, _ = scene
    offline, hop = speech_probabilities(x, RATE)
    assert hop == pytest.approx(0.032)
    for sizes in ([1920], [1, 700, 5000, 333]):
        vad = StreamingVad(RATE)
        out: list[tuple[int, float]] = []
        pos, k = 0, 0
        while pos < x.size:
            step = sizes[k % len(sizes)]
            out += vad.push(x[pos : pos + step])
            pos, k = pos + step, k + 1
        ends = [e for e, _ in out]
        assert ends == [768 * (i + 1) for i in range(len(out))]
        assert len(out) >= offline.size - 2  # the resampler holds back its filter delay
        probs = np.array([p for _, p in out])
        # streaming soxr (HQ) vs offline soxr (VHQ): nearly the same 16 kHz signal
        assert np.max(np.abs(probs - offline[: probs.size])) < 0.02


def test_streaming_reset_restarts_the_clock() -> None:
    vad = StreamingVad(RATE)
    first = vad.push(np.zeros(RATE, np.float32))
    vad.reset()
    again = vad.push(np.zeros(RATE, np.float32))
    assert first == again
    assert not vad.is_speech


def test_streaming_at_16k_needs_no_resampler() -> None:
    vad = StreamingVad(16000)
    out = vad.push(np.zeros(1600, np.float32))
    assert [e for e, _ in out] == [512, 1024, 1536]


def test_streaming_cost_per_80ms_frame(scene) -> None:
    x, _ = scene
    vad = StreamingVad(RATE)
    frame = 1920
    n = x.size // frame
    t0 = time.perf_counter()
    for i in range(n):
        vad.push(x[i * frame : (i + 1) * frame])
    per_frame = (time.perf_counter() - t0) / n
    print(f"streaming vad: {per_frame * 1e6:.0f} us per 80 ms frame")
    assert per_frame < 0.004  # measured ~0.3 ms on 2 cores; 5% of a frame is the budget


def test_registry_and_provenance() -> None:
    assert VAD_BACKENDS.names() == ["silero", "webrtc"]
    prov = vad_provenance("silero")
    assert prov["backend"] == "silero" and len(prov["model_sha256"]) == 16
    assert vad_provenance("webrtc")["backend"] == "webrtc"
    with pytest.raises(UnknownNameError, match="did you mean 'silero'"):
        vad_provenance("silro")


def test_webrtc_backend_finds_the_speech() -> None:
    x = place([(1.0, say("Yeah."))], 3.0)
    segs = speech_segments(x, RATE, backend="webrtc")
    assert segs and abs(segs[0].start - 1.0) < 0.03
    assert speech_segments(np.zeros(RATE, np.float32), RATE, backend="webrtc") == []


@pytest.mark.parametrize("text", ["Mm-hmm.", "Yeah.", "Uh-huh."])
def test_short_utterance_after_long_digital_silence_is_found(text: str) -> None:
    # Regression: Silero's state drifted over ~9 s of exact zeros and then missed backchannels.
    from tests.speech.speechdata import RATE, place, say

    t = 15.0
    segs = speech_segments(place([(t, say(text))], t + 2), RATE)
    assert len(segs) == 1 and abs(segs[0].start - t) < 0.02
