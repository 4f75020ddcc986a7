"""Transport URLs: ``SCHEME+ws[s]://host:port/path?server_query#harness_options``.

Why the fragment: the query belongs to the server (PersonaPlex needs ``text_prompt`` and
``voice_prompt``, the Rust Moshi server takes sampling parameters) and must reach it unchanged,
while a URL fragment is by definition never sent to the server. Harness options are written there
as ``key=value`` pairs joined by ``&`` or ``,``; an unknown key is an error naming the known ones.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from duplex.errors import ConfigError
from duplex.models.base import ModelSpec
from duplex.models.registry import SpecArgs


@dataclass(frozen=True)
class TransportUrl:
    protocol: str  # "moshi" or "realtime"
    url: str  # what is dialled: ws:// or wss://, path and query, no fragment
    options: SpecArgs


def parse_url(spec: ModelSpec, protocol: str, allowed: dict[str, str]) -> TransportUrl:
    """Split a transport spec into the websocket URL and validated harness options."""
    target = spec.target or spec.text
    scheme, sep, rest = target.partition("://")
    prefix, plus, ws_scheme = scheme.partition("+")
    if not sep or not plus or prefix != protocol or ws_scheme not in ("ws", "wss"):
        raise ConfigError(
            f"model spec {spec.text!r}: expected {protocol}+ws://HOST:PORT/PATH or {protocol}+wss://"
        )
    url, _, fragment = f"{ws_scheme}://{rest}".partition("#")
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"model spec {spec.text!r}: no host in the url")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ConfigError(f"model spec {spec.text!r}: {exc}") from None
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in fragment.replace(",", "&").split("&"))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ConfigError(f"model spec {spec.text!r}: option {part!r} is not key=value")
        if key in args:
            raise ConfigError(f"model spec {spec.text!r}: option {key!r} given twice")
        args[key] = urllib.parse.unquote(value)
    options = SpecArgs(ModelSpec(spec.text, spec.name, args, spec.target), allowed)
    return TransportUrl(protocol, url, options)


def redacted(url: str) -> str:
    """The URL for results and messages, without user:password."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
