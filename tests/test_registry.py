import pytest

from duplex.errors import ConfigError, UnknownNameError
from duplex.registry import Registry


def test_did_you_mean_and_available_list() -> None:
    r: Registry[int] = Registry("model")
    r.add("scripted", 1)
    r.add("silent", 2)
    with pytest.raises(UnknownNameError, match=r"unknown model 'scriptd'; did you mean 'scripted'"):
        r.get("scriptd")
    with pytest.raises(UnknownNameError, match=r"available: scripted, silent"):
        r.get("zzz")


def test_duplicates_rejected_and_lazy_entries_import() -> None:
    r: Registry[object] = Registry("thing")
    r.add("join", "os.path:join")
    with pytest.raises(ConfigError, match="registered twice"):
        r.add("join", 1)
    import os.path

    assert r.get("join") is os.path.join
    assert "join" in r and r.names() == ["join"]
