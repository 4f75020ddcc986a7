"""The soak's ``serve``: a child process, its memory, and a fuzz of its protocol.

``serve`` runs as a real deployment runs it, ``python -m duplex serve`` in a process of its own,
with the token in ``DUPLEX_BENCH_TOKEN`` and its log in the soak folder (which is searched for
planted secrets like every other file). Its resident memory is read from ``/proc``.

The fuzz sends seeded random messages (kinds, lengths, payloads, frame types) over as many
connections as it takes, and checks each reaction against the protocol (``duplex.protocols.moshi``):
a message the protocol accepts or ignores must leave the session running; a malformed one must
end it with an error message (kind 5), a message past ``--max-message-bytes`` with close code
1009, and promptly. Anything else is counted as unexplained, a session that does not end within
its deadline as a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sphn
import websockets
from websockets.exceptions import ConnectionClosed

from duplex.bench.soak_sessions import IDLE_S

RATE, FRAME = 24000, 1920
MAX_MESSAGE = 1 << 20
#: how long the server may take to end a session after a malformed message
ERROR_DEADLINE_S = 5.0
#: messages per fuzz connection before the fuzzer closes it itself; audio frames stay well below
#: the server's 250 pending frames, so the model never falls behind
PER_CONNECTION = 200
AUDIO_PER_CONNECTION = 120


class ServeProcess:
    """``duplex-bench serve`` in a child process."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, drain: asyncio.Task[None]):
        self.proc, self.url, self._drain = proc, url, drain

    @classmethod
    async def start(cls, model: str, log: Path, env: dict[str, str], sessions: int) -> ServeProcess:
        args = ["--model", model, "--port", "0", "--max-sessions", str(sessions)]
        args += [
            "--idle-timeout",
            f"{IDLE_S:g}",
            "--handshake-timeout",
            "2",
            "--max-session",
            "120",
        ]
        out = log.open("ab")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "duplex", "serve", *args,
            stdout=asyncio.subprocess.PIPE, stderr=out, env=env,
        )  # fmt: skip
        out.close()  # the child holds its own descriptor
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 300)
        except TimeoutError:
            proc.kill()
            raise RuntimeError(f"serve did not start within 300 s (log: {log})") from None
        found = re.search(r" on (ws://\S+)", line.decode())
        if not found:
            proc.kill()
            raise RuntimeError(f"serve did not start: {line!r} (log: {log})")

        async def drain() -> None:
            assert proc.stdout is not None
            while await proc.stdout.readline():
                pass

        return cls(proc, found.group(1), asyncio.create_task(drain()))

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(kb.group(1)) / 1024 if kb else float("nan")

    async def stop(self) -> int | None:
        """Ctrl-C, as a user stops it; killed if it does not end within 10 s."""
        if self.alive:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await asyncio.wait({self._drain}, timeout=5)
        return self.proc.returncode


# --------------------------------------------------------------------------------- the fuzz


@dataclass
class FuzzTally:
    messages: int = 0
    connections: int = 0
    errors_answered: int = 0  # malformed messages the server ended a session for, with a reason
    too_big: int = 0  # closed with 1009
    hangs: int = 0
    crashes: int = 0
    unexplained: list[str] = field(default_factory=list)


def _utf8(rng: np.random.Generator) -> bytes:
    return "".join(chr(int(c)) for c in rng.integers(32, 0x2FF, int(rng.integers(0, 40)))).encode()


def fuzz_message(rng: np.random.Generator) -> tuple[bytes | str, str]:
    """A random message and what the protocol says it must cause: ok, error or too_big.

    Audio is chosen by the caller (it must continue the connection's Ogg stream): ``b"audio"``.
    """
    r = rng.random()
    if r < 0.40:
        return b"audio", "ok"
    if r < 0.58:  # ping, the Rust kinds and unknown kinds: ignored, whatever they carry
        kind = int(rng.choice([6, 7, 8, 9, int(rng.integers(10, 256))]))
        return bytes([kind]) + rng.bytes(int(rng.integers(0, 64))), "ok"
    if r < 0.63:  # a handshake from the client: ignored if well-formed (empty or 8 bytes)
        n = int(rng.choice([0, 8, 1, 3, 12]))
        return b"\x00" + rng.bytes(n), "ok" if n in (0, 8) else "error"
    if r < 0.69:  # text: utf-8 or not
        bad = rng.random() < 0.3
        return b"\x02" + (
            b"\xff\xfe" + rng.bytes(5) if bad else _utf8(rng)
        ), "error" if bad else "ok"
    if r < 0.74:  # control: one byte 0-3, or not
        payload = rng.bytes(int(rng.choice([0, 1, 1, 1, 2])))
        ok = len(payload) == 1 and payload[0] <= 3
        return b"\x03" + payload, "ok" if ok else "error"
    if r < 0.79:  # metadata: json or not
        good = rng.random() < 0.5
        text = json.dumps({"k": int(rng.integers(1000))}).encode() if good else b"{" + rng.bytes(6)
        return b"\x04" + text, "ok" if good else "error"
    if r < 0.82:  # an error message from the client: carried, ignored
        return b"\x05" + _utf8(rng), "ok"
    if r < 0.88:  # audio that is not Ogg (long enough to be read, not starting with OggS)
        return b"\x01\x00" + rng.bytes(int(rng.integers(40, 2000))), "error"
    if r < 0.93:  # a large message of an ignored kind, under the limit
        return b"\x2a" + rng.bytes(int(rng.integers(1 << 10, 1 << 16))), "ok"
    if r < 0.96:
        return "a text frame", "error"
    if r < 0.99:
        return b"", "error"
    return b"\x2a" + bytes(MAX_MESSAGE + 1024), "too_big"


class _Fuzzer:
    def __init__(self, url: str, token: str, total: int, seed: int) -> None:
        self.url, self.token, self.total = url, token, total
        self.rng = np.random.default_rng(seed)
        self.tally = FuzzTally()

    async def worker(self) -> None:
        while self.tally.messages < self.total:
            try:
                async with asyncio.timeout(PER_CONNECTION * 0.5 + 30):
                    await self.connection()
            except TimeoutError:
                self.tally.hangs += 1
            except Exception as exc:  # what nobody expects: counted, reported
                self.tally.crashes += 1
                self.tally.unexplained.append(f"fuzzer: {type(exc).__name__}: {exc}")

    async def connection(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        ws = await websockets.connect(
            self.url, additional_headers=auth, compression=None, max_size=1 << 22
        )
        self.tally.connections += 1
        async with ws:
            if await ws.recv() != b"\x00":
                self.tally.unexplained.append("no handshake")
                return
            said: list[str] = []
            listener = asyncio.create_task(self._listen(ws, said))
            writer = sphn.OpusStreamWriter(RATE)
            sent: list[str] = []
            audio = 0
            for _ in range(PER_CONNECTION):
                if self.tally.messages >= self.total:
                    break
                message, expect = fuzz_message(self.rng)
                if message == b"audio":
                    if audio >= AUDIO_PER_CONNECTION:
                        continue
                    audio += 1
                    noise = self.rng.normal(0, 0.05, FRAME).astype(np.float32)
                    message = b"\x01" + writer.append_pcm(noise)
                sent.append(_label(message))
                self.tally.messages += 1
                try:
                    await ws.send(message)
                except ConnectionClosed:
                    break
                if expect != "ok":
                    await self._ended(listener, said, expect, sent)
                    return
                if listener.done():
                    break
                await asyncio.sleep(0)
            if listener.done():  # the server ended a session nothing in it should have ended
                self.tally.unexplained.append(f"ended after {sent[-5:]}: {said}")
                return
        await listener

    async def _ended(
        self, listener: asyncio.Task[None], said: list[str], expect: str, sent: list[str]
    ) -> None:
        done, _ = await asyncio.wait({listener}, timeout=ERROR_DEADLINE_S)
        if not done:
            self.tally.hangs += 1
            listener.cancel()
        elif expect == "too_big" and "close 1009" in said:
            self.tally.too_big += 1
        elif expect == "error" and any(s.startswith("error ") for s in said):
            self.tally.errors_answered += 1
        else:
            self.tally.unexplained.append(f"{expect} expected after {sent[-3:]}: {said}")

    @staticmethod
    async def _listen(ws: websockets.ClientConnection, said: list[str]) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes) and message[:1] == b"\x05":
                    said.append("error " + message[1:].decode(errors="replace"))
        except ConnectionClosed as exc:
            said.append(f"close {exc.rcvd.code if exc.rcvd else 'none'}")
        else:
            said.append("close 1000")


def _label(message: bytes | str) -> str:
    if isinstance(message, str):
        return "text frame"
    return f"kind {message[0]} x{len(message) - 1}" if message else "empty"


async def fuzz(url: str, token: str, total: int, seed: int, workers: int) -> FuzzTally:
    """``total`` fuzz messages to ``serve`` at ``url``, over ``workers`` connections at a time."""
    fuzzer = _Fuzzer(url, token, total, seed)
    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(fuzzer.worker())
    return fuzzer.tally


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment for a child, with ``extra`` and offline model hubs."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **extra}
    with contextlib.suppress(KeyError):
        del env["PYTHONSTARTUP"]
    return env
