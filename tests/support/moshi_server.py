"""Run the genuine ``moshi.server`` with a tiny random checkpoint on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support import moshi_env

HERE = Path(__file__).resolve().parent
#: Start-up takes about 10 s warm and up to 40 s on a cold cache.
START_TIMEOUT_S = 120.0


def make_checkpoint(python: Path, out: Path) -> Path:
    if not (out / "READY").exists():
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        subprocess.run([str(python), str(HERE / "moshi_tiny.py"), str(out)], check=True, env=env)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def running(checkpoint: Path, log_path: Path) -> Iterator[str]:
    """The server's websocket URL while it runs; the process is ended on exit."""
    python = moshi_env.python()
    port = _free_port()
    # One torch thread: with two, another busy process pushed the server below real time.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [
        str(python), str(HERE / "moshi_launch.py"),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--static", "none",
        "--config-path", str(checkpoint / "config.json"),
        "--moshi-weight", str(checkpoint / "moshi.safetensors"),
        "--mimi-weight", str(checkpoint / "mimi.safetensors"),
        "--tokenizer", str(checkpoint / "tokenizer.model"),
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"moshi server exited: {log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"moshi server not up in {START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield f"ws://127.0.0.1:{port}/api/chat"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
