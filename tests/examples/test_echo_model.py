"""The example `python:` model runs through `run` (lock-step), `serve` and `live` (fake device)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
import sphn
import websockets

from duplex.cli import main
from duplex.live.devices import FakeClockedIO
from duplex.live.run import LiveRunConfig, write_live_run
from duplex.live.session import LiveOptions, run_live
from duplex.models.registry import load_model
from duplex.serve import MoshiServer, ServeOptions
from duplex.speech.vad import speech_segments

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FILE_SPEC = f"python:{ROOT / 'examples' / 'echo_model.py'}:make"
RATE, FRAME = 24000, 1920
DELAY = 0.8  # the example's default: from the user's last voiced sound to the echo


def _mic() -> tuple[np.ndarray, float]:
    """0.5 s silence, about 2 s of speech, silence to 6 s; and where the speech ends."""
    from duplex.models.voice import utterance

    speech = utterance(2.0, RATE, "Could you tell me what the weather will be like tomorrow?")
    x = np.zeros(6 * RATE, np.float32)
    x[RATE // 2 : RATE // 2 + speech.size] = speech
    return x, speech_segments(x, RATE)[-1].end


def test_run_scores_the_echo_in_lockstep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # the module form imports `examples` from the current folder
    out = tmp_path / "run"
    spec = "python:examples.echo_model:make:delay=0.6"
    argv = ["run", "--scenario", "turn_taking", "--model", spec, "--limit", "2", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for row in rows:  # it takes the turn 0.6 s after the last frame its own VAD calls voiced
        assert row["metrics"]["tor"] == 1
        # The scorer measures from the item's last voiced sample; the model from the end of the
        # last 80 ms frame its streaming VAD calls voiced: a little later as a rule (Silero's
        # probability stays up for a few chunks), a little earlier when the voice fades out
        # under the threshold inside the frame (seen: 12 ms).
        assert 0.55 <= row["metrics"]["latency_vad_s"] < 0.8, row["metrics"]
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["params"]["delay"] == 0.6


def test_serve_answers_a_moshi_client_with_the_echo() -> None:
    mic, speech_end = _mic()

    async def go() -> np.ndarray:
        model = load_model(FILE_SPEC)
        async with MoshiServer(model, ServeOptions(port=0)) as server:
            url = f"ws://127.0.0.1:{server.port}/api/chat"
            async with websockets.connect(url) as ws:
                assert await ws.recv() == b"\x00"
                return await _talk(ws, mic)

    out = asyncio.run(go())
    assert out.size >= mic.size - 2 * FRAME
    voiced = speech_segments(out, RATE)
    assert voiced, "no echo came back"
    # Heard DELAY after the end of the speech (plus codec and loopback), shorter (pitched up).
    assert abs(voiced[0].start - (speech_end + DELAY)) < 0.25, (voiced[0], speech_end)
    assert voiced[-1].end - voiced[0].start < 0.95 * (speech_end - 0.5)


async def _talk(ws: websockets.ClientConnection, mic: np.ndarray) -> np.ndarray:
    """Stream ``mic`` in 80 ms Opus frames on schedule; everything received, decoded."""
    writer, reader = sphn.OpusStreamWriter(RATE), sphn.OpusStreamReader(RATE)
    received: list[np.ndarray] = []

    async def receive() -> None:
        async for message in ws:
            assert isinstance(message, bytes)
            if message[0] == 1:
                received.append(reader.append_bytes(message[1:]))

    receiver = asyncio.create_task(receive())
    t0 = time.perf_counter()
    for n in range(mic.size // FRAME):
        await asyncio.sleep(max(0.0, t0 + (n + 1) * 0.08 - time.perf_counter()))
        data = writer.append_pcm(mic[n * FRAME : (n + 1) * FRAME])
        if data:
            await ws.send(b"\x01" + data)
    await asyncio.sleep(0.4)
    receiver.cancel()
    return np.concatenate(received) if received else np.zeros(0, np.float32)


def test_live_with_a_fake_device_measures_the_echo_latency(tmp_path: Path) -> None:
    mic, _ = _mic()
    model = load_model(FILE_SPEC)
    device = FakeClockedIO(mic, RATE)
    opts = LiveOptions(duration_s=6.0)
    result = asyncio.run(run_live(model, device, opts, folder=tmp_path / "rec", status_out=None))
    assert result.stop_reason == "duration"
    config = LiveRunConfig(model=model.spec, out=tmp_path / "run", asr=None)
    row = write_live_run(result, config, model.describe(), "live-echo")
    m = row["metrics"]
    assert m["user_turns"] == 1 and m["responses"] == 1
    # As in lock-step: the model counts from the end of its last voiced frame (measured 0.79 s).
    assert DELAY - 0.05 <= m["latency_median_s"] < DELAY + 0.2, m
