"""Ogg/Opus streams at 24 kHz through ``sphn``, hiding its two reader APIs.

sphn's ``OpusStreamReader.append_bytes`` returned the decoded PCM up to some version and returns
nothing in later ones, which added ``read_pcm``; both are supported so a user's sphn pin does not
break the transports. The writer buffers PCM and may return ``b""`` until it has a whole page.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sphn

from duplex.audio import Samples
from duplex.errors import ProtocolError


def _rust_failure(exc: BaseException) -> bool:
    # A panic inside sphn's Rust code surfaces as pyo3's PanicException, a BaseException: it must
    # still become a ProtocolError, while Ctrl-C and cancellation keep propagating.
    return not isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit) and (
        isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
    )


class OpusDecoder:
    """Ogg/Opus bytes -> float32 PCM. A stream that failed once stays failed (sphn keeps the
    unparsable bytes buffered), so every later call raises too."""

    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate
        self._reader: Any = sphn.OpusStreamReader(rate)
        self._broken: str | None = None

    def decode(self, data: bytes) -> Samples:
        """Decoded samples available so far (possibly none).

        Raises :class:`ProtocolError` if ``data`` is not a continuation of a valid Ogg/Opus stream.
        """
        if self._broken is not None:
            raise ProtocolError(f"ogg/opus stream already broken: {self._broken}")
        try:
            pcm = self._reader.append_bytes(data)
            if pcm is None:  # newer sphn: append, then read what is decoded
                pcm = self._reader.read_pcm()
        except BaseException as exc:
            if not _rust_failure(exc):
                raise
            self._broken = str(exc) or type(exc).__name__
            raise ProtocolError(f"invalid ogg/opus data: {self._broken}") from exc
        return np.ascontiguousarray(np.asarray(pcm, dtype=np.float32).reshape(-1))


class OpusEncoder:
    """float32 PCM -> Ogg/Opus bytes (the first non-empty result carries the header pages)."""

    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate
        self._writer: Any = sphn.OpusStreamWriter(rate)

    def encode(self, pcm: Samples) -> bytes:
        """Bytes to send for ``pcm``; ``b""`` while the writer is still filling a page."""
        x = np.ascontiguousarray(np.asarray(pcm, dtype=np.float32).reshape(-1))
        return bytes(self._writer.append_pcm(x))
