"""``python:`` model specs: both forms load, and every mistake is one error saying what is wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from duplex.errors import ConfigError
from duplex.models.base import LockstepModel
from duplex.models.registry import load_model

GOOD = """
import numpy as np
from duplex.models.base import LockstepModel, LockstepSession, StepOutput

class Quiet(LockstepSession):
    def step(self, frame):
        return StepOutput(np.zeros(1920, np.float32))

class Model(LockstepModel):
    def __init__(self, arg="none"):
        self.arg = arg
    def open(self, info):
        return Quiet()

def make(arg="none"):
    return Model(arg)

def boom():
    raise ValueError("no weights in /nowhere")

def wrong_type():
    return 42

def slow_rate():
    m = Model()
    m.sample_rate = 16000
    return m

def odd_frame():
    m = Model()
    m.frame_size = 1600
    return m

NOT_CALLABLE = 3
"""


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with ``mymodels/good.py``, as the current folder but not on ``sys.path``."""
    (tmp_path / "mymodels").mkdir()
    (tmp_path / "mymodels" / "good.py").write_text(GOOD)
    (tmp_path / "mymodels" / "broken.py").write_text("import numpy\nraise RuntimeError('bad')\n")
    (tmp_path / "mymodels" / "needs.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    for name in [n for n in sys.modules if n.startswith("mymodels")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


def test_module_form_from_the_current_folder_with_an_argument(model_dir: Path) -> None:
    model = load_model("python:mymodels.good:make:a:b=1")
    assert isinstance(model, LockstepModel)
    assert model.arg == "a:b=1"  # type: ignore[attr-defined]  # the rest of the spec, colons kept
    assert model.spec == "python:mymodels.good:make:a:b=1"


def test_file_form_relative_and_absolute_without_an_argument(model_dir: Path) -> None:
    relative = load_model("python:mymodels/good.py:make")
    absolute = load_model(f"python:{model_dir / 'mymodels' / 'good.py'}:make")
    assert relative.arg == absolute.arg == "none"  # type: ignore[attr-defined]
    assert type(relative) is type(absolute)  # one module per file, loaded once


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("python:", "must be python:module:factory"),
        ("python:mymodels.good", "must be python:module:factory"),
        ("python:mymodels.good:not-a-name", "'not-a-name' is not a Python name"),
        ("python:nosuchpkg.mod:make", "cannot import module 'nosuchpkg.mod': no module named"),
        ("python:mymodels.needs:make", "needs 'no_such_dependency_xyz', which is not installed"),
        ("python:mymodels.broken:make", "importing module 'mymodels.broken' failed: RuntimeError"),
        ("python:mymodels/broken.py:make", "loading file 'mymodels/broken.py' failed"),
        ("python:mymodels/none.py:make", "file 'mymodels/none.py' does not exist"),
        ("python:mymodels.good:mkae", "mymodels.good has no attribute 'mkae' .*make"),
        ("python:mymodels.good:NOT_CALLABLE", "NOT_CALLABLE is a int, not a callable"),
        ("python:mymodels.good:boom", "factory mymodels.good:boom raised ValueError: no weights"),
        ("python:mymodels.good:wrong_type", "returned int, expected a LockstepModel"),
        ("python:mymodels.good:slow_rate", "sample_rate=16000.*24000 Hz"),
        ("python:mymodels.good:odd_frame", "frame_size=1600; lock-step frames are 80 ms, 1920"),
    ],
)
def test_errors_name_module_attribute_and_problem(model_dir: Path, spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_model(spec)


def test_a_failed_lookup_leaves_the_path_as_it_was(model_dir: Path) -> None:
    before = list(sys.path)
    with pytest.raises(ConfigError):
        load_model("python:nosuchpkg.mod:make")
    assert sys.path == before
