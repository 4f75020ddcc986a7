"""Model specs -> loaded models.

A spec is ``name``, ``name:key=value,...`` (e.g. ``oracle:latency=0.6``) or a URL whose scheme names
a transport (``moshi+ws://host:8998/api/chat``). Each registered factory takes the parsed spec and
returns a loaded :class:`~duplex.models.base.Model`; adding a model is adding an entry here and a
module, never a branch in the harness.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable

from duplex.errors import ConfigError
from duplex.models.base import Model, ModelSpec
from duplex.registry import Registry

ModelFactory = Callable[[ModelSpec], Model]

MODELS: Registry[ModelFactory] = Registry("model")
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
MODELS.add("silent", "duplex.models.instruments:make_silent", "never says anything")
MODELS.add(
    "eager",
    "duplex.models.instruments:make_eager",
    "starts talking once it hears speech and never stops (TOR near 1, like Moshi)",
)
MODELS.add(
    "scripted",
    "duplex.models.instruments:make_scripted",
    "real VAD on its input; answers `latency` s after the user stops, for `length` s",
)
MODELS.add(
    "oracle",
    "duplex.models.instruments:make_oracle",
    "reads the scenario's annotations and speaks at exactly known times",
)
MODELS.add(
    "replier",
    "duplex.models.replier:make_replier",
    "conversations: answers each examiner turn with the goal's reference (or bad) reply",
)
MODELS.add(
    "cascade",
    "duplex.models.cascade:make_cascade",
    "cascaded voice agent: Silero VAD, Whisper tiny.en, SmolLM2-135M, Piper; barge-in, "
    "backchannels",
)
_MOSHI, _RT = "duplex.models.transports.moshi_ws", "duplex.models.transports.realtime_ws"
MODELS.add("moshi+ws", f"{_MOSHI}:make_moshi_ws", "Moshi/PersonaPlex, moshi+ws://H:P/api/chat")
MODELS.add("moshi+wss", f"{_MOSHI}:make_moshi_ws", "the same over TLS")
MODELS.add("realtime+ws", f"{_RT}:make_realtime_ws", "OpenAI-Realtime-style server, realtime+ws://")
MODELS.add("realtime+wss", f"{_RT}:make_realtime_ws", "the same over TLS")
MODELS.add(
    "python",
    "duplex.models.pyfactory:make_python",
    "your own model: python:module:factory[:ARG] or python:path/to/file.py:factory[:ARG]",
)
MODELS.add(
    "moshi",
    "duplex.models.moshi_local:make_moshi",
    "Moshi in process (extra [moshi]): moshi:dir=PATH or moshi:config=,lm=,mimi=,tokenizer=",
)
_GEM = "duplex.models.transports.gemini_ws:make_gemini_ws"
MODELS.add("gemini+wss", _GEM, "Gemini Live, gemini+wss://generativelanguage.googleapis.com")
MODELS.add("gemini+ws", _GEM, "a local server speaking Gemini Live's messages")


def parse_spec(text: str) -> ModelSpec:
    """Split a spec string into name, arguments and target; errors name the offending part."""
    text = text.strip()
    if not text:
        raise ConfigError("empty model spec")
    # A URL only if it starts with a scheme: `moshi:lm=file:///x` is a spec whose value is one.
    url = _URL.match(text)
    if url:
        return ModelSpec(text=text, name=url.group(1), target=text)
    name, _, rest = text.partition(":")
    if name == "python":
        return ModelSpec(text=text, name=name, target=rest)
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ConfigError(f"model spec {text!r}: argument {part!r} is not key=value")
        if key in args:
            raise ConfigError(f"model spec {text!r}: argument {key!r} given twice")
        args[key] = value
    return ModelSpec(text=text, name=name, args=args)


def load_model(text: str) -> Model:
    spec = parse_spec(text)
    model = MODELS.get(spec.name)(spec)
    model.spec = spec.text
    return model


class SpecArgs:
    """Typed access to a spec's arguments: unknown or malformed ones are errors, not ignored."""

    def __init__(self, spec: ModelSpec, allowed: dict[str, str]) -> None:
        unknown = sorted(set(spec.args) - set(allowed))
        if unknown:
            known = ", ".join(f"{k} ({v})" for k, v in allowed.items())
            raise ConfigError(
                f"model spec {spec.text!r}: unknown argument {unknown[0]!r}; "
                f"{spec.name} takes {known}"
            )
        self.spec = spec

    def float(self, key: str, default: float, *, low: float = 0.0, high: float = 1e9) -> float:
        raw = self.spec.args.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"model spec {self.spec.text!r}: {key}={raw!r} is not a number"
            ) from None
        if not low <= value <= high:
            raise ConfigError(
                f"model spec {self.spec.text!r}: {key}={value} is outside [{low}, {high}]"
            )
        return value

    def optional_float(
        self, key: str, *, low: builtins.float = 0.0, high: builtins.float = 1e9
    ) -> builtins.float | None:
        """A number if given, else None (the behaviour is off)."""
        return self.float(key, 0.0, low=low, high=high) if key in self.spec.args else None

    def bool(self, key: str, default: bool) -> bool:
        raw = self.spec.args.get(key)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"model spec {self.spec.text!r}: {key}={raw!r} is not a boolean")

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        raw = self.spec.args.get(key, default)
        if raw not in options:
            raise ConfigError(
                f"model spec {self.spec.text!r}: {key}={raw!r}; choose one of {', '.join(options)}"
            )
        return raw
