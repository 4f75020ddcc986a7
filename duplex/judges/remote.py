"""Judges behind an API: Anthropic's Messages API and any OpenAI-compatible chat endpoint.

Both use their vendor SDK with the SDK's own retries switched off (``max_retries=0``): retrying
is the engine's job, so that the policy (backoff, ``retry-after``, attempt count) is one and is
tested once. Errors are sorted here into transient (:class:`RetryableError`: 408/409/429/5xx,
timeouts, dropped connections) and final (:class:`JudgeError`: bad key, bad request, an answer
without a rating).

The API key comes from the spec (``api_key=``) or the environment; it is held by the SDK client
only, and :func:`duplex.judges.base.redact_spec` masks it in anything recorded.
"""

from __future__ import annotations

import email.utils
import os
import time
from typing import Any

from duplex.errors import ConfigError
from duplex.judges.base import (
    DEFAULT_PROMPT,
    JudgeError,
    JudgeInput,
    JudgeSpec,
    RetryableError,
    Verdict,
    analysis_of,
    check_args,
    load_prompt,
    parse_rating,
    redact_spec,
)
from duplex.writing import redact

_COMMON = ("model", "base_url", "api_key", "timeout", "concurrency", "attempts", "prompt")
_RETRY_STATUS = {408, 409, 429}
MAX_TOKENS = 400


def _number(spec: JudgeSpec, key: str, default: float, low: float, high: float) -> float:
    raw = spec.args.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"judge {spec.name!r}: {key}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"judge {spec.name!r}: {key}={raw} is outside [{low}, {high}]")
    return value


def retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), else None."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


def classify(exc: Exception, sdk: Any) -> JudgeError:
    """An SDK exception as a retryable or final judge error (message without secrets)."""
    if isinstance(exc, sdk.APITimeoutError):
        return RetryableError("request timed out")
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        message = f"HTTP {status}: {redact(str(exc))[:200]}"
        if status in _RETRY_STATUS or status >= 500:
            return RetryableError(message, retry_after(exc.response.headers))
        return JudgeError(message)
    if isinstance(exc, sdk.APIConnectionError):
        return RetryableError(f"connection failed: {type(exc).__name__}")
    return JudgeError(f"{type(exc).__name__}: {redact(str(exc))[:200]}")


class _ApiJudge:
    name = ""
    default_model = ""

    def __init__(self, spec: JudgeSpec) -> None:
        check_args(spec, _COMMON)
        self.spec = redact_spec(spec)
        self.model = spec.args.get("model") or self.default_model
        if not self.model:
            raise ConfigError(f"judge {spec.name!r} needs model=NAME")
        self.prompt = load_prompt(spec.args.get("prompt") or DEFAULT_PROMPT)
        self.prompt_version = self.prompt.version
        self.prompt_sha = self.prompt.sha256
        self.timeout = _number(spec, "timeout", 60.0, 0.01, 3600.0)
        self.max_concurrency = int(_number(spec, "concurrency", 4, 1, 64))
        self.max_attempts = int(_number(spec, "attempts", 5, 1, 20))

    def verdict(self, text: str) -> Verdict:
        score, why = parse_rating(text)
        if score is None:
            raise JudgeError(f"malformed answer: {why}")
        return Verdict(
            score,
            reason=analysis_of(text),
            judge=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            raw=text,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "prompt_sha256": self.prompt.sha256,
        }


class AnthropicJudge(_ApiJudge):
    """Claude through the Messages API (``anthropic`` SDK)."""

    name = "anthropic"
    default_model = "claude-sonnet-4-5"

    def __init__(self, spec: JudgeSpec) -> None:
        super().__init__(spec)
        try:
            import anthropic
        except ImportError:
            raise ConfigError("the anthropic judge needs: pip install anthropic") from None
        key = spec.args.get("api_key") or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigError("the anthropic judge needs ANTHROPIC_API_KEY (or api_key=...)")
        self.sdk: Any = anthropic
        self.client = anthropic.Anthropic(
            api_key=key,
            base_url=spec.args.get("base_url") or None,
            timeout=self.timeout,
            max_retries=0,
        )

    def rate(self, item: JudgeInput) -> Verdict:
        return self.verdict(self.complete(self.prompt.system, self.prompt.render(item)))

    def complete(self, system: str, user: str, max_tokens: int = MAX_TOKENS) -> str:
        """The answer's text to one system + user message (also used by the arena judges)."""
        try:
            reply = self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                # No temperature: this SDK's Messages API no longer takes one. Re-runs are
                # identical through the verdict cache, not through sampling settings.
                system=system,
                messages=[{"role": "user", "content": user}],
            )
        except self.sdk.APIError as exc:
            raise classify(exc, self.sdk) from exc
        blocks = getattr(reply, "content", None)
        if not isinstance(blocks, list):
            raise JudgeError("malformed answer: no content blocks")
        text = "".join(
            str(getattr(b, "text", "")) for b in blocks if getattr(b, "type", None) == "text"
        )
        if not text.strip():
            raise JudgeError("malformed answer: no text in the content blocks")
        return text

    def close(self) -> None:
        self.client.close()


class OpenAICompatibleJudge(_ApiJudge):
    """A chat-completions endpoint (vLLM, Ollama, llama.cpp server, OpenAI), temperature 0."""

    name = "openai-compatible"

    def __init__(self, spec: JudgeSpec) -> None:
        super().__init__(spec)
        base_url = spec.args.get("base_url")
        if not base_url:
            raise ConfigError("the openai-compatible judge needs base_url=http://HOST:PORT/v1")
        try:
            import openai
        except ImportError:
            raise ConfigError("the openai-compatible judge needs: pip install openai") from None
        # Local servers usually take any key; the SDK refuses an empty one.
        key = spec.args.get("api_key") or os.environ.get("OPENAI_API_KEY") or "unused"
        self.sdk: Any = openai
        self.client = openai.OpenAI(
            api_key=key, base_url=base_url, timeout=self.timeout, max_retries=0
        )

    def rate(self, item: JudgeInput) -> Verdict:
        return self.verdict(self.complete(self.prompt.system, self.prompt.render(item)))

    def complete(self, system: str, user: str, max_tokens: int = MAX_TOKENS) -> str:
        """The answer's text to one system + user message (also used by the arena judges)."""
        try:
            reply = self.client.chat.completions.create(
                model=self.model,
                max_tokens=max_tokens,
                temperature=0,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
            )
        except self.sdk.APIError as exc:
            raise classify(exc, self.sdk) from exc
        try:
            text = reply.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise JudgeError("malformed answer: no choices[0].message.content") from None
        if not isinstance(text, str) or not text.strip():
            raise JudgeError("malformed answer: empty message content")
        return text

    def close(self) -> None:
        self.client.close()


def make_anthropic(spec: JudgeSpec) -> AnthropicJudge:
    return AnthropicJudge(spec)


def make_openai_compatible(spec: JudgeSpec) -> OpenAICompatibleJudge:
    return OpenAICompatibleJudge(spec)
