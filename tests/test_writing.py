"""The one writer's corners found by the soak (`duplex-bench bench soak`)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from duplex.writing import redact, sweep_temporaries, write_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Basic " + base64.b64encode(b"soak:pw-5ecret").decode(), "c29hazpw"),
        ("with Authorization: Digest username=alice-5ecret", "alice-5ecret"),
        ("Authorization: Token tok-5ecret-value", "tok-5ecret-value"),
        ("authorization: Bearer abc.5ecret", "abc.5ecret"),
        ('"Authorization": "sk-5ecret"', "sk-5ecret"),
    ],
)
def test_every_authorization_scheme_loses_its_credentials(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_temporaries_a_kill_left_behind_are_swept(tmp_path: Path) -> None:
    write_text(tmp_path / "kept.json", "{}")
    (tmp_path / "sessions" / "i1").mkdir(parents=True)
    torn = tmp_path / "sessions" / "i1" / ".session.json.3ao46h0n.tmp"  # SIGKILL mid-write
    torn.write_text('{"half": ')
    mine = tmp_path / "notes.tmp"  # not the writer's: kept
    mine.write_text("x")
    assert sweep_temporaries(tmp_path) == 1
    assert not torn.exists() and mine.exists() and (tmp_path / "kept.json").exists()
