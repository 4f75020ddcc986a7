"""The two commands' argument errors (exit 2 with one clear line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from duplex.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["arena", "only-one"], "an arena needs at least two run folders"),
        (["arena", "a", "b", "--calibrate"], "give either RUN folders or --calibrate"),
        (["arena", "a", "b", "--concurrency", "0"], "--concurrency must be at least 1"),
        (["arena", "a", "b", "--judge", "smolm2"], "did you mean 'smollm2'"),
        (["rubric", "nowhere"], "nowhere: no such run folder"),
    ],
)
def test_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("duplex-bench: error: ") and message in err
