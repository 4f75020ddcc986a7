from __future__ import annotations

import pytest

from duplex.errors import ConfigError
from duplex.models.cascade.params import CascadeParams, parse
from duplex.models.registry import parse_spec


def test_defaults_and_overrides() -> None:
    assert parse(parse_spec("cascade")) == CascadeParams()
    assert parse(parse_spec("cascade:eot=rule")).eot == "rule"
    p = parse(parse_spec("cascade:eot=silence,backchannel=0,max_tokens=20,barge_in=off"))
    assert p.eot == "silence" and not p.backchannel and p.max_tokens == 20 and not p.barge_in
    p = parse(parse_spec("cascade:llm_weights=float32,asr_window=30"))
    assert p.llm_weights == "float32" and p.asr_window == 30.0
    assert parse(parse_spec("cascade:max_words=2")).max_words == 2


@pytest.mark.parametrize(
    "spec",
    [
        "cascade:eot=maybe",
        "cascade:colour=red",
        "cascade:threads=0",
        "cascade:llm_weights=int4",
        "cascade:asr_window=1",
        "cascade:step_budget=0",  # the reply would never start
        "cascade:max_words=-1",
    ],
)
def test_bad_arguments_are_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse(parse_spec(spec))
