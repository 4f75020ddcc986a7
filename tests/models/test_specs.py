import pytest

from duplex.errors import ConfigError, UnknownNameError
from duplex.models.registry import MODELS, load_model, parse_spec


def test_parse_forms() -> None:
    s = parse_spec("oracle:latency=0.6,mode=pause")
    assert (s.name, s.args) == ("oracle", {"latency": "0.6", "mode": "pause"})
    u = parse_spec("moshi+ws://127.0.0.1:8998/api/chat?text_prompt=hi")
    assert u.name == "moshi+ws" and u.target.startswith("moshi+ws://")
    assert parse_spec("python:pkg.mod:factory").target == "pkg.mod:factory"


@pytest.mark.parametrize(
    "spec,message",
    [
        ("", "empty model spec"),
        ("oracle:latency", "'latency' is not key=value"),
        ("oracle:latency=1,latency=2", "given twice"),
        ("oracle:latency=abc", "latency='abc' is not a number"),
        ("oracle:mode=sideways", "mode='sideways'; choose one of turn_end, pause"),
        ("oracle:bogus=1", "unknown argument 'bogus'"),
        ("scripted:latency=-1", "outside"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_model(spec)


def test_unknown_model_suggests() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'oracle'"):
        load_model("orcale")


def test_instruments_registered() -> None:
    assert {"silent", "eager", "scripted", "oracle"} <= set(MODELS.names())
