"""``python:module:factory[:ARG]`` and ``python:path/to/file.py:factory[:ARG]``: your own model.

The factory is called as ``factory(ARG)``, or ``factory()`` when no ARG is given (ARG is the rest
of the spec, colons included), and must return a loaded
:class:`~duplex.models.base.LockstepModel` or :class:`~duplex.models.base.StreamingModel` that runs
at the session rate with 80 ms frames. See docs/models.md.

* The module form imports like ``python -m`` does: from ``sys.path``, then from the current
  folder (the ``duplex-bench`` script does not put it on the path itself).
* The file form loads the file under a private module name; a spec is a file path when its first
  part ends in ``.py``.

Every error names the module or file, the attribute and what is wrong.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from duplex.audio import SESSION_RATE
from duplex.errors import ConfigError
from duplex.models.base import LockstepModel, Model, ModelSpec, StreamingModel

FRAME_MS = 80
USAGE = "python:module:factory[:ARG] or python:path/to/file.py:factory[:ARG]"


def make_python(spec: ModelSpec) -> Model:
    where, factory_name, arg = _split(spec)
    module = _load_file(where) if where.endswith(".py") else _import(where)
    factory = getattr(module, factory_name, None)
    if factory is None:
        own = module.__name__
        public = sorted(
            name
            for name, obj in vars(module).items()
            if callable(obj) and name[0] != "_" and getattr(obj, "__module__", "") == own
        )
        raise ConfigError(
            f"python model {spec.text!r}: {where} has no attribute {factory_name!r} "
            f"(callables defined there: {', '.join(public) or 'none'})"
        )
    if not callable(factory):
        raise ConfigError(
            f"python model {spec.text!r}: {where}:{factory_name} is a "
            f"{type(factory).__name__}, not a callable factory"
        )
    try:
        model = factory(arg) if arg is not None else factory()
    except Exception as exc:
        raise ConfigError(
            f"python model {spec.text!r}: factory {where}:{factory_name} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return check_model(model, f"{where}:{factory_name}", spec.text)


def _split(spec: ModelSpec) -> tuple[str, str, str | None]:
    where, _, tail = spec.target.partition(":")
    factory_name, colon, arg = tail.partition(":")
    if not where or not factory_name:
        raise ConfigError(f"python model spec {spec.text!r} must be {USAGE}")
    if not factory_name.isidentifier():
        raise ConfigError(
            f"python model spec {spec.text!r}: {factory_name!r} is not a Python name ({USAGE})"
        )
    return where, factory_name, arg if colon else None


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not _names_the_target(module_name, missing):
            raise ConfigError(
                f"python model: importing module {module_name!r} failed: it needs {missing!r}, "
                f"which is not installed ({exc})"
            ) from exc
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            # As `python -m` would have; appended, so it shadows nothing. It stays on the path
            # once the import worked: the model may import its sibling modules later.
            sys.path.append(cwd)
            try:
                return _import(module_name)
            except ConfigError:
                sys.path.remove(cwd)
                raise
        raise ConfigError(
            f"python model: cannot import module {module_name!r}: no module named {missing!r} on "
            f"the Python path or in {cwd}; give a file instead: python:path/to/file.py:factory"
        ) from exc
    except Exception as exc:
        raise ConfigError(
            f"python model: importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _names_the_target(module_name: str, missing: str) -> bool:
    """Whether a ModuleNotFoundError is about the module asked for (or a parent package)."""
    parts = module_name.split(".")
    return missing in {".".join(parts[: k + 1]) for k in range(len(parts))}


def _load_file(where: str) -> ModuleType:
    path = Path(where).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"python model: file {where!r} does not exist")
    # One private name per file, so that two model files called model.py do not collide and a
    # second load of the same file reuses the first.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"_duplex_user_model_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"python model: cannot load {where!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(
            f"python model: loading file {where!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def check_model(model: Any, origin: str, spec: str) -> Model:
    """``model`` if it is a usable system under test, else one error saying what is wrong."""
    if not isinstance(model, LockstepModel | StreamingModel):
        raise ConfigError(
            f"python model {spec!r}: {origin} returned {type(model).__name__}, expected a "
            "LockstepModel or StreamingModel (duplex.models.base)"
        )
    rate = getattr(model, "sample_rate", None)
    if rate != SESSION_RATE:
        raise ConfigError(
            f"python model {spec!r}: {origin} returned a model at sample_rate={rate!r}; in-process "
            f"models run at the session rate, {SESSION_RATE} Hz (resample inside the model)"
        )
    if isinstance(model, LockstepModel):
        expected = SESSION_RATE * FRAME_MS // 1000
        if model.frame_size != expected:
            raise ConfigError(
                f"python model {spec!r}: {origin} returned a model with frame_size="
                f"{model.frame_size!r}; lock-step frames are {FRAME_MS} ms, {expected} samples"
            )
    return model
