"""Every file duplex-bench writes goes through here: atomic, line-safe, and without secrets.

- :func:`write_text` / :func:`write_json` write via a temporary file beside the target, fsync it
  and rename it into place: a reader never sees half a file, and a failure (disk full, a
  read-only folder, a path under a file) leaves no temporary file behind and raises one
  :class:`~duplex.errors.ResultsError` naming the file, never a traceback.
- :func:`append_line` appends one line (``results.jsonl``), flushed and fsynced. A crash or a
  full disk can leave a torn last line; before appending, a torn tail is cut back to the last
  complete line (and the cut is reported), so the next line never lands glued to a fragment.
- :func:`redact` takes secrets out of any text: credentials in URLs (``user:pass@``, ``?token=``,
  ``api_key=``...), ``Bearer`` tokens, and the values of the API-key environment variables the
  harness knows. The writers apply it to everything they write, and the command line to every
  error it prints, so a secret that slipped into a message (an echoing proxy, a failed spec)
  is never kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from duplex.errors import ResultsError

#: Environment variables whose values are secrets wherever they appear.
SECRET_ENV = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "DUPLEX_BENCH_TOKEN",
    "HF_TOKEN",
)
MASK = "***"
_USERINFO = re.compile(r"(?<=://)[^/@\s\"']+@")
# ``name=value`` as in URL queries and spec arguments (not JSON fields, whose ``"key": ...``
# would otherwise be mistaken for one), and the headers that carry keys.
_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|password|passwd|"
    r"secret|key)=)([^\s&,;#\"'}\]]+)"
)
_HEADER = re.compile(
    r"(?i)\b((?:x-goog-api-key|x-api-key|api-key|authorization)[\"']?\s*:\s*[\"']?)"
    r"(?!bearer\b)([^\s\"',}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """``text`` without the secrets it may carry (see the module doc)."""
    out = _USERINFO.sub("", text)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    out = _PARAM.sub(lambda m: m.group(1) + MASK, out)
    out = _HEADER.sub(lambda m: m.group(1) + MASK, out)
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            out = out.replace(value, MASK)
    return out


def _fail(path: Path, what: str, exc: OSError) -> ResultsError:
    reason = exc.strerror or type(exc).__name__
    return ResultsError(f"{path}: cannot write {what} ({reason})")


def ensure_folder(folder: Path, what: str = "the folder") -> None:
    """Create ``folder`` (and its parents), or raise one ResultsError saying why not."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder}: cannot write {what} (it is a file, not a folder)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(folder, what, exc) from None
    if not os.access(folder, os.W_OK):
        raise ResultsError(f"{folder}: cannot write {what} (not writable)")


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, a path a result file cannot be written to."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{option} {path}: is a folder, not a file")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ResultsError(f"{option} {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise ResultsError(f"{option} {path}: {parent} is not writable")
            break


def write_text(path: Path, text: str, *, what: str = "the file") -> None:
    """Write ``text`` (redacted) to ``path`` atomically; a failure leaves nothing behind."""
    data = redact(text).encode("utf-8")
    write_bytes(path, lambda f: f.write(data), what=what)


def write_json(path: Path, doc: Any, *, what: str = "the file", indent: int | None = 2) -> None:
    write_text(path, json.dumps(doc, indent=indent, default=str) + "\n", what=what)


def cut_torn_tail(path: Path) -> int:
    """Cut a last line left without its newline (a crash mid-write); return the bytes cut."""
    path = Path(path)
    if not path.exists():
        return 0
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # Find the last newline without reading a large file whole.
        pos, keep = size, 0
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                keep = pos + i + 1
                break
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
        return size - keep


def append_line(path: Path, line: str, *, what: str = "results") -> int:
    """Append one line (redacted), cutting a torn tail first; returns the bytes that cut."""
    path = Path(path)
    if "\n" in line:
        raise ValueError("append_line takes one line")
    try:
        cut = cut_torn_tail(path)
        with path.open("a", encoding="utf-8") as f:
            f.write(redact(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise _fail(path, what, exc) from None
    return cut


def write_bytes(
    path: Path, write: Callable[[IO[bytes]], object], *, what: str = "the file"
) -> None:
    """Atomically write what ``write`` puts into a binary file object (wav files, caches)."""
    path = Path(path)
    ensure_folder(path.parent, what)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:24]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise _fail(path, what, exc) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


class RedactingFilter(logging.Filter):
    """A logging filter that takes secrets out of every record it passes (see :func:`redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg, unused-ignore]
    """Writes to whatever ``sys.stderr`` is at the time (a captured or redirected one too)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def redact_logging() -> None:
    """Log warnings to stderr through a redacting filter (what the command line does)."""
    handler = _Stderr()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("duplex-bench: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
