from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import moshi_env, moshi_server


@pytest.fixture(scope="session")
def moshi_reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the genuine Moshi server (moshi 0.2.13 from PyPI, tiny random weights, CPU)."""
    python = moshi_env.ensure()  # about 70 s on a cold machine, instant afterwards
    checkpoint = moshi_server.make_checkpoint(python, tmp_path_factory.mktemp("moshi-tiny"))
    log = Path(tmp_path_factory.mktemp("moshi-log")) / "server.log"
    with moshi_server.running(checkpoint, log) as url:
        yield url
