import pytest


@pytest.fixture(scope="session", autouse=True)
def _scenario_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Rendered scenarios go to a per-test-session cache, never to the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DUPLEX_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()
