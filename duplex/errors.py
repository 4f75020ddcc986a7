"""The one exception tree of duplex-bench.

Every error the harness raises on purpose derives from :class:`DuplexError`. The CLI turns any of
them into one line on stderr and exit code 2; anything else is a bug and keeps its traceback.
Messages are short, lowercase, and name the offending file, item, field or value.
"""

from __future__ import annotations

from typing import Self


class DuplexError(Exception):
    """Base class of every deliberate duplex-bench error."""

    def within(self, where: str) -> Self:
        """This same error, its message prefixed with where it happened (``where: message``).

        The error keeps its class and attributes (a session's recording, a retry delay), which
        re-raising a new error built from the message would drop.
        """
        first = f"{where}: {self.args[0]}" if self.args else where
        self.args = (first, *self.args[1:])
        return self


class ConfigError(DuplexError):
    """A command-line option, model spec argument or run configuration is wrong."""


class UnknownNameError(ConfigError):
    """A registry lookup missed; the message suggests the closest names."""


class AudioError(DuplexError):
    """Audio that cannot be used: unreadable file, wrong rate or channels, NaN/inf samples."""


class ScenarioError(DuplexError):
    """A scenario spec file is missing or malformed; the message names file, item and field."""


class ModelError(DuplexError):
    """The system under test failed: crashed, disconnected, stalled or broke its contract.

    At the harness boundary this becomes a recorded failure of one item, never a stopped suite.
    """


class BackendError(DuplexError):
    """A speech backend (VAD, ASR, TTS) could not be loaded or run."""


class ResultsError(DuplexError):
    """A run folder cannot be written, read or resumed."""


class ProtocolError(ModelError):
    """A peer sent bytes or JSON that its wire protocol does not allow (garbage, wrong order)."""
