"""Packaged probe data: every set loads, licences ship with it, damaged files fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duplex.errors import ScenarioError, UnknownNameError
from duplex.probes.sets import SETS, data_path, load_set

SIZES = {"blimp": 600, "copa": 500, "bcopa": 500, "hellaswag": 600}


def test_every_set_loads_with_its_size_and_licence() -> None:
    assert sorted(SETS.names()) == sorted(SIZES)
    for name, size in SIZES.items():
        s = load_set(name)
        assert len(s.items) == size
        assert len(s.version) == 12
        assert all(it.license for it in s.items)
        assert all(0 <= it.label < len(it.choices) for it in s.items)
    assert {len(it.choices) for it in load_set("hellaswag").items} == {4}
    assert load_set("blimp").info.primary_rule == "sum"


def test_licence_and_attribution_files_are_packaged() -> None:
    sources = data_path("SOURCES.md").read_text(encoding="utf-8")
    for needle in ("Warstadt", "Roemmele", "Kavumba", "Zellers", "CC-BY-4.0", "BSD-2-Clause"):
        assert needle in sources
    for name in ("Balanced-COPA_LICENSE_MIT.txt", "HellaSwag_LICENSE_MIT.txt"):
        assert "MIT License" in data_path(f"licenses/{name}").read_text(encoding="utf-8")


def test_limit_is_a_deterministic_hash_ordered_subset() -> None:
    a = load_set("blimp", limit=30)
    b = load_set("blimp", limit=30)
    assert [i.id for i in a.items] == [i.id for i in b.items]
    assert len(a.items) == 30
    # spread over paradigms, not the first 30 lines of the file (which cover only three)
    paradigms = {i.id.rsplit("-", 1)[0] for i in a.items}
    assert len(paradigms) > 10
    full_ids = [i.id for i in load_set("blimp").items]
    assert [i for i in full_ids if i in {x.id for x in a.items}] == [i.id for i in a.items]


def test_unknown_set_suggests_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'copa'"):
        load_set("copaa")


def _line(**over: object) -> str:
    obj = {"id": "x1", "context": "It rained so", "choices": ["we got wet.", "we flew."]}
    obj.update({"label": 0, "source": "test", "license": "MIT"})
    obj.update(over)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", r":1: not a JSON object"),
        (
            _line() + "\n" + _line(label=5).replace("x1", "x2") + "\n",
            r":2 \(item x2\): field 'label' 5",
        ),
        (json.dumps({"id": "y", "context": "c", "label": 0}) + "\n", "missing field 'choices'"),
        (_line(choices=["same", "same"]) + "\n", "duplicates"),
        (_line() + "\n" + _line() + "\n", "appears twice"),
        (_line(license="") + "\n", "license"),
        ("\n", "has no items"),
    ],
)
def test_damaged_files_name_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "copa_dev.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message) as info:
        load_set("copa", path=f)
    assert str(f) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read probe set 'copa'"):
        load_set("copa", path=tmp_path / "nope.jsonl")


def test_binary_garbage_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "g.jsonl"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_set("copa", path=f)
