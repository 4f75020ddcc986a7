"""The soak's runs of ``duplex-bench run``: killed with SIGKILL mid-suite, then ``--resume``d.

Each pass runs the command line in a child process, as a user would, with its output in the soak
folder. Once the first result line is written (and before the last), the child is killed with
SIGKILL (no handler runs, nothing is flushed); the same command with ``--resume`` must then
finish the suite: every planned item has exactly one row in the end, every line of
``results.jsonl`` parses, every failed row says why, and ``report`` reads the folder.

A fake chat-completions endpoint stands in for a judge whose proxy echoes the request's
``Authorization`` header in its error body, the way a planted key reaches an error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: how often the result file is looked at while waiting to kill the runner
POLL_S = 0.2


@dataclass
class PassResult:
    name: str
    planned: int
    rows: int = 0
    lost: int = 0
    failed_with_reason: int = 0
    failed_without_reason: int = 0
    killed_after_rows: int | None = None
    exit_codes: list[int | None] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hangs: int = 0
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


def _rows(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The parsed rows of a results file, and how many lines did not parse (a torn tail)."""
    if not path.exists():
        return [], 0
    rows, torn = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            torn += 1
    return rows, torn


async def _start(cmd: list[str], log: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *cmd, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env
        )


async def _wait(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    """Whether the process ended within ``seconds`` (else it is killed: a hang)."""
    try:
        await asyncio.wait_for(proc.wait(), seconds)
        return True
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False


async def runner_pass(
    name: str,
    args: list[str],
    planned: list[str],
    folder: Path,
    env: dict[str, str],
    *,
    kill: bool,
    bound_s: float,
) -> PassResult:
    """``duplex-bench run ARGS --out folder/name``, killed mid-suite when ``kill``, resumed."""
    out = folder / name
    log = folder / f"{name}.log"
    cmd = [sys.executable, "-m", "duplex", "run", *args, "--out", str(out), "--no-progress"]
    result = PassResult(name, len(planned))
    t = time.perf_counter()
    results = out / "results.jsonl"
    if kill:
        proc = await _start(cmd, log, env)
        deadline = time.perf_counter() + bound_s
        while proc.returncode is None and time.perf_counter() < deadline:
            if len(_rows(results)[0]) >= 1:
                os.kill(proc.pid, signal.SIGKILL)
                result.killed_after_rows = len(_rows(results)[0])
                break
            await asyncio.sleep(POLL_S)
        if not await _wait(proc, max(1.0, deadline - time.perf_counter())):
            result.hangs += 1
        result.exit_codes.append(proc.returncode)
    proc = await _start([*cmd, "--resume"] if kill else cmd, log, env)
    if not await _wait(proc, bound_s):
        result.hangs += 1
    result.exit_codes.append(proc.returncode)
    result.seconds = round(time.perf_counter() - t, 1)
    _check(result, results, planned, log)
    return result


def _check(result: PassResult, results: Path, planned: list[str], log: Path) -> None:
    rows, torn = _rows(results)
    if torn:
        result.crashes.append(f"{results}: {torn} lines do not parse")
    # Results are append-only: a resumed run adds a new row for an item that failed before,
    # and the last row of an item is its result.
    by_id = {str(row.get("item_id")): row for row in rows}
    result.rows = len(by_id)
    result.lost = sum(1 for i in planned if i not in by_id)
    for row in by_id.values():
        if row.get("status") == "failed":
            reason = str(row.get("reason") or "").strip()
            if reason:
                result.failed_with_reason += 1
                result.reasons.append(f"{row['item_id']}: {reason[:160]}")
            else:
                result.failed_without_reason += 1
    text = log.read_text(errors="replace") if log.exists() else ""
    if "Traceback (most recent call last)" in text:
        result.crashes.append(f"a traceback in {log.name}")
    # 0: scored; 1: every item failed (recorded); -9: our own SIGKILL. Anything else is a crash.
    for code in result.exit_codes:
        if code not in (0, 1, -signal.SIGKILL):
            result.crashes.append(f"exit code {code} (log: {log.name})")


# ----------------------------------------------------------------------- a judge that echoes


async def _judge_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """401 to every request, quoting the Authorization header back (an echoing proxy)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        headers = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        length = int(headers.get("Content-Length", headers.get("content-length", "0")))
        await reader.readexactly(length)
        auth = headers.get("Authorization", headers.get("authorization", "(none)"))
        error = {"message": f"Incorrect API key provided: {auth}", "code": "invalid_api_key"}
        body = json.dumps({"error": {**error, "type": "invalid_request_error"}}).encode()
        writer.write(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def echoing_judge() -> tuple[asyncio.Server, str]:
    """A chat-completions endpoint on loopback that refuses every key by quoting it."""
    server = await asyncio.start_server(_judge_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"
