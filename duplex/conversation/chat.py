"""Language models that write the examiner's lines (see :mod:`duplex.conversation.writer`).

``smollm2`` (the default): SmolLM2-135M-Instruct, the cascade's weights (:mod:`
duplex.models.cascade.llm`), greedy, so a line is a function of its prompt. ``anthropic`` and
``openai-compatible``: the API judges' clients (:mod:`duplex.judges.remote`), keys from the
environment as for the judges, retried by the same policy; their lines are cached, so a re-run
is identical and costs nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from duplex.conversation.writer import (
    PARAPHRASE_VERSION,
    Line,
    LineCache,
    LineRequest,
    Prompt,
    check_line,
    load_prompt,
    tidy,
)
from duplex.errors import ConfigError, DuplexError
from duplex.judges.base import JudgeSpec, RetryableError, check_args, redact_spec
from duplex.judges.engine import DEFAULT_BACKOFF
from duplex.registry import Registry


class Chat(Protocol):
    name: str
    model: str

    def complete(self, system: str, user: str) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class EmbeddedChat:
    """SmolLM2-135M-Instruct, greedy, ``max_tokens`` at most; loaded at construction."""

    name = "smollm2"
    model = "SmolLM2-135M-Instruct-Q4_1"

    def __init__(self, system: str, *, threads: int = 1, max_tokens: int = 40) -> None:
        from duplex.models.cascade.llm import Llm

        # The system prompt's key/value cache is computed once, at load; no primer: the
        # cascade's example exchange is an assistant's, and this model plays the user.
        self.llm = Llm(threads, system_prompt=system, weights="int8", primer=())
        self.max_tokens = max_tokens

    def complete(self, system: str, user: str) -> str:
        from duplex.models.cascade.llm import Conversation

        if system != self.llm.system_prompt:
            raise ConfigError("examiner smollm2: loaded with another system prompt")
        reply = Conversation(self.llm).start_reply(user, self.max_tokens)
        while not reply.done:
            reply.next_token()
        return reply.text()

    def describe(self) -> dict[str, Any]:
        d = self.llm.describe()
        return {"name": self.name, "model": self.model, "max_tokens": self.max_tokens, **d}

    def close(self) -> None:
        pass


class RemoteChat:
    """An API judge's client used to write lines, with the judges' retry policy."""

    def __init__(self, spec: str) -> None:
        from duplex.judges import load_judge

        self.judge: Any = load_judge(spec)
        if not hasattr(self.judge, "complete"):
            raise ConfigError(f"examiner {spec!r}: this backend cannot write lines")
        self.name = str(self.judge.name)
        self.model = str(self.judge.model)

    def complete(self, system: str, user: str) -> str:
        failures = 0
        while True:
            try:
                return str(self.judge.complete(system, user))
            except RetryableError as exc:
                failures += 1
                if failures >= self.judge.max_attempts:
                    raise
                time.sleep(DEFAULT_BACKOFF.delay(failures, exc.retry_after))

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.judge.describe().items() if k != "prompt_version"}

    def close(self) -> None:
        self.judge.close()


class ChatWriter:
    """Lines from a :class:`Chat`, checked, cached; the script's line when one fails."""

    def __init__(self, chat: Chat, prompt: Prompt, cache: LineCache) -> None:
        self.chat = chat
        self.prompt = prompt
        self.cache = cache
        self.name = chat.name
        self._lock = threading.Lock()  # one model, one request at a time

    @property
    def contextual(self) -> bool:
        return self.prompt.contextual

    def write(self, request: LineRequest) -> Line:
        goal = request.goal
        key = self.cache.key(self.chat.name, self.chat.model, self.prompt, request)
        with self._lock:
            raw = self.cache.get(key)
            if raw is None:
                try:
                    raw = self.chat.complete(self.prompt.system, self.prompt.render(request))
                except DuplexError as exc:
                    return Line(goal.say, "script", f"{self.name} failed: {exc}")
                self.cache.put(key, raw)
        text = tidy(raw)
        heard = next((t for who, t in reversed(request.history) if who == "assistant"), "")
        said = tuple(t for who, t in request.history if who == "you")
        why = check_line(text, goal, heard, said)
        if why is not None:
            return Line(goal.say, "script", f"{self.name} line rejected, {why}: {text!r}")
        return Line(text, self.name)

    def describe(self) -> dict[str, Any]:
        return {
            **self.chat.describe(),
            "prompt_version": self.prompt.version,
            "prompt_sha256": self.prompt.sha256,
            "contextual": self.prompt.contextual,
            "checked": "keeps the goal line's facts, names and numbers in order, its question "
            "and 70% of its content words; 3-40 words; not the assistant's words",
        }

    def close(self) -> None:
        self.chat.close()
        self.cache.close()


def _embedded(spec: JudgeSpec) -> ChatWriter:
    check_args(spec, ("threads", "max_tokens"))
    try:
        threads = int(spec.args.get("threads", "1"))
        max_tokens = int(spec.args.get("max_tokens", "40"))
    except ValueError:
        raise ConfigError(
            f"examiner {redact_spec(spec)!r}: threads and max_tokens are integers"
        ) from None
    prompt = load_prompt(PARAPHRASE_VERSION)
    chat = EmbeddedChat(prompt.system, threads=threads, max_tokens=max_tokens)
    return ChatWriter(chat, prompt, LineCache.default())


def _remote(spec: JudgeSpec) -> ChatWriter:
    return ChatWriter(RemoteChat(spec.text), load_prompt(), LineCache.default())


WriterFactory = Any  # Callable[[JudgeSpec], Writer]; Any keeps the registry entries lazy-typed
CHATS: Registry[WriterFactory] = Registry("examiner language model")
CHATS.add("smollm2", _embedded, "embedded SmolLM2-135M-Instruct, greedy (offline, the default)")
CHATS.add("anthropic", _remote, "Claude via the Messages API; key from ANTHROPIC_API_KEY")
CHATS.add("openai-compatible", _remote, "a chat-completions endpoint; base_url=...,model=...")
