"""Where a Moshi checkpoint's files are, from a ``moshi:`` spec; never from the network.

Two forms, as ``moshi.server`` takes a checkpoint or as a folder holding one:

* ``config=PATH,lm=PATH,mimi=PATH,tokenizer=PATH`` (``--config-path``, ``--moshi-weight``,
  ``--mimi-weight``, ``--tokenizer``); ``config`` may be left out for the original Moshi 7B layout,
  ``mimi_config=PATH`` gives a Mimi configuration other than the original one.
* ``dir=PATH``: a folder with the files under these names (the first that exists wins; a name in
  ``config.json`` - ``moshi_name``, ``mimi_name``, ``tokenizer_name``, ``mimi_config_name`` - is
  looked for in the folder first, by its last path component):

  ============  ==================================================================
  config        ``config.json`` (optional: without it, the original 7B layout)
  LM weights    ``model.safetensors``, ``moshi.safetensors``
  Mimi weights  ``mimi.safetensors``, ``tokenizer-e351c8d8-checkpoint125.safetensors``
  tokenizer     ``tokenizer.model``, ``tokenizer_spm_32k_3.model``
  Mimi config   ``mimi_config.json`` (optional)
  ============  ==================================================================

  That covers a local copy of Kyutai's ``moshiko``/``moshika`` folders and the tiny test
  checkpoints. Names given in either form may be ``file://`` URLs; ``hf://`` names are refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError

LM_NAMES = ("model.safetensors", "moshi.safetensors")
MIMI_NAMES = ("mimi.safetensors", "tokenizer-e351c8d8-checkpoint125.safetensors")
TOKENIZER_NAMES = ("tokenizer.model", "tokenizer_spm_32k_3.model")
MIMI_CONFIG_NAMES = ("mimi_config.json",)
#: config.json keys that are not LM constructor arguments (moshi's loader pops the same ones)
NON_LM_KEYS = (
    "moshi_name",
    "mimi_name",
    "tokenizer_name",
    "mimi_config_name",
    "lora_name",
    "model_type",
    "lm_gen_config",
    "tts_config",
    "stt_config",
    "model_id",
)
#: weights bigger than this are fingerprinted by their first and last 16 MiB and their size
FULL_HASH_LIMIT = 64 << 20
_PART = 16 << 20


@dataclass(frozen=True)
class Checkpoint:
    lm: Path
    mimi: Path
    tokenizer: Path
    config: Path | None = None
    mimi_config: Path | None = None

    def read_config(self) -> dict[str, Any]:
        """config.json as a dict ({} without one); errors name the file."""
        return _read_json(self.config, "moshi config") if self.config else {}

    def read_mimi_config(self) -> dict[str, Any] | None:
        return _read_json(self.mimi_config, "mimi config") if self.mimi_config else None

    def describe(self) -> dict[str, Any]:
        files = {
            "config": self.config,
            "lm": self.lm,
            "mimi": self.mimi,
            "tokenizer": self.tokenizer,
            "mimi_config": self.mimi_config,
        }
        return {k: fingerprint(p) for k, p in files.items() if p is not None}


def fingerprint(path: Path) -> dict[str, Any]:
    """Path, size and a SHA-256 (of the whole file, or of its ends for multi-GB weights)."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as f:
        if size <= FULL_HASH_LIMIT:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
            kind = "sha256"
        else:
            digest.update(f.read(_PART))
            f.seek(size - _PART)
            digest.update(f.read(_PART))
            kind = "sha256_first_last_16MiB"
    return {"path": str(path), "bytes": size, kind: digest.hexdigest()}


def resolve(args: dict[str, str], spec: str) -> Checkpoint:
    """The checkpoint a spec's arguments name; every file must exist."""
    explicit = [k for k in ("config", "lm", "mimi", "tokenizer", "mimi_config") if k in args]
    if "dir" in args:
        if explicit:
            raise ConfigError(
                f"model spec {spec!r}: give either dir= or config=/lm=/mimi=/tokenizer=, not both "
                f"(got dir and {', '.join(explicit)})"
            )
        return _from_dir(Path(_local(args["dir"], spec, "dir")).expanduser(), spec)
    missing = [k for k in ("lm", "mimi", "tokenizer") if k not in args]
    if missing:
        raise ConfigError(
            f"model spec {spec!r}: missing {', '.join(missing)}; give dir=FOLDER or "
            "config=FILE,lm=FILE,mimi=FILE,tokenizer=FILE"
        )
    paths = {k: _file(_local(args[k], spec, k), spec, k) for k in explicit}
    config = paths.get("config")
    mimi_config = paths.get("mimi_config")
    if mimi_config is None and config is not None:
        mimi_config = _named_mimi_config(config, spec)
    return Checkpoint(paths["lm"], paths["mimi"], paths["tokenizer"], config, mimi_config)


def _from_dir(folder: Path, spec: str) -> Checkpoint:
    if not folder.is_dir():
        raise ConfigError(f"model spec {spec!r}: dir {str(folder)!r} is not a folder")
    config_path: Path | None = folder / "config.json"
    if config_path is not None and config_path.is_file():
        config = _read_json(config_path, "moshi config")
    else:
        config_path, config = None, {}

    def find(key: str, names: tuple[str, ...], what: str, required: bool = True) -> Path | None:
        named = config.get(key)
        candidates = ([Path(str(named)).name] if isinstance(named, str) else []) + list(names)
        for name in candidates:
            if (folder / name).is_file():
                return folder / name
        if required:
            raise ConfigError(
                f"model spec {spec!r}: no {what} in {folder} (looked for {', '.join(candidates)})"
            )
        return None

    lm = find("moshi_name", LM_NAMES, "LM weights")
    mimi = find("mimi_name", MIMI_NAMES, "Mimi weights")
    tokenizer = find("tokenizer_name", TOKENIZER_NAMES, "text tokenizer")
    mimi_config = find("mimi_config_name", MIMI_CONFIG_NAMES, "Mimi config", required=False)
    assert lm and mimi and tokenizer
    return Checkpoint(lm, mimi, tokenizer, config_path, mimi_config)


def _named_mimi_config(config: Path, spec: str) -> Path | None:
    """config.json's ``mimi_config_name``: a file:// URL, or a name beside config.json."""
    name = _read_json(config, "moshi config").get("mimi_config_name")
    if not isinstance(name, str):
        return None
    local = _local(name, spec, "mimi_config_name in config.json")
    path = Path(local) if Path(local).is_absolute() else config.parent / local
    if not path.is_file():
        path = config.parent / Path(local).name
    return _file(str(path), spec, "mimi_config_name in config.json")


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{what} {path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _local(value: str, spec: str, key: str) -> str:
    if value.startswith("hf://"):
        raise ConfigError(
            f"model spec {spec!r}: {key}={value!r} names a hub file; the harness never downloads "
            "weights: download it yourself and give the local path"
        )
    return value.removeprefix("file://")


def _file(value: str, spec: str, key: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"model spec {spec!r}: {key} file {value!r} does not exist")
    return path
