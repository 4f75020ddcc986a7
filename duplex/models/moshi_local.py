"""``moshi:`` - the Moshi family in process, through the ``moshi`` package (LMGen + Mimi).

``moshi:dir=FOLDER`` or ``moshi:config=FILE,lm=FILE,mimi=FILE,tokenizer=FILE`` (see
:mod:`duplex.models.moshi_checkpoint`), plus the arguments in :data:`ARGS`. 24 kHz, 80 ms frames,
one frame out per frame in; the first step of a session yields silence, as in Moshi's own server
(the LM's audio streams are one step behind its text).

It is a :class:`~duplex.models.batch.BatchLockstepModel`: a batch of ``B`` slots is one set of
streaming states of batch size ``B`` in Mimi and the LM, and a step is one Mimi encode, one
``LMGen.step`` and one Mimi decode for all of them. A session joining a slot resets that row only
(the package's per-row reset); rows not stepped are masked out with the package's execution mask,
so they keep their state and compute nothing that matters. Several batches (concurrent ``serve``
sessions) may be open at once: the model's modules hold one set of states at a time, so each step
installs its batch's states under a lock.

Sampling draws from one generator per session, seeded from ``seed``, the run's ``--seed`` and the
item id (:mod:`duplex.models.moshi_sampling`): a rerun gives identical tokens and a session's
tokens do not depend on its slot or its neighbours. Audio of a batched session may differ from a
single run's in the last float bits (batched matrix products sum in another order): measured on
the tiny checkpoint, at most about 1e-7 of full scale, with identical tokens.

Text and voice prompts: ``moshi`` 0.2.13 has none (``LMGen`` takes no prompt; the package's only
conditioning is the ``hibiki`` translation model's), so ``text_prompt``/``voice_prompt`` are
refused here. PersonaPlex checkpoints need PersonaPlex's own fork of the package (a 16-step
depformer and its prompt handling) and are reached through their server: ``moshi+ws://...``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from duplex.errors import ConfigError
from duplex.models.base import ModelSpec, SessionInfo, StepOutput
from duplex.models.batch import BatchLockstepModel, BatchLockstepSession
from duplex.models.moshi_checkpoint import NON_LM_KEYS, Checkpoint, resolve
from duplex.models.registry import SpecArgs

if TYPE_CHECKING:
    import torch

RATE, FRAME = 24000, 1920
ARGS = {
    "dir": "a folder holding the checkpoint",
    "config": "config.json (as moshi.server --config-path)",
    "lm": "LM weights (--moshi-weight)",
    "mimi": "Mimi weights (--mimi-weight)",
    "tokenizer": "text tokenizer (--tokenizer)",
    "mimi_config": "Mimi configuration JSON",
    "device": "cpu or cuda, default cpu",
    "dtype": "float32 or bfloat16, default float32 on cpu, bfloat16 on cuda",
    "temp": "audio temperature, default 0.8",
    "temp_text": "text temperature, default 0.7",
    "top_k": "audio top-k, default 250",
    "top_k_text": "text top-k, default 25",
    "seed": "sampling seed, default 0",
    "batch": "largest batch `run --batch` may use, default 64",
    "threads": "torch CPU threads, default torch's own",
}
#: LMGen's own defaults, overridden by config.json's ``lm_gen_config``, then by the spec
GEN_DEFAULTS: dict[str, Any] = {"temp": 0.8, "temp_text": 0.7, "top_k": 250, "top_k_text": 25}
PROMPT_HINT = (
    "moshi 0.2.13 has no text or voice prompts (LMGen takes none); PersonaPlex checkpoints take "
    "them on their own server: moshi+ws://HOST:PORT/api/chat?text_prompt=...&voice_prompt=..."
)


@dataclass(frozen=True)
class MoshiParams:
    device: str = "cpu"
    dtype: str = "float32"
    use_sampling: bool = True
    temp: float = 0.8
    temp_text: float = 0.7
    top_k: int = 250
    top_k_text: int = 25
    seed: int = 0
    batch: int = 64
    threads: int | None = None


def make_moshi(spec: ModelSpec) -> MoshiModel:
    for key in ("text_prompt", "voice_prompt"):
        if key in spec.args:
            raise ConfigError(f"model spec {spec.text!r}: {key} is not supported: {PROMPT_HINT}")
    args = SpecArgs(spec, ARGS)
    checkpoint = resolve(spec.args, spec.text)
    config = checkpoint.read_config()
    params = _params(args, config)
    try:
        import moshi.models  # noqa: F401 - only to fail early with the install hint
    except ImportError as exc:
        raise ConfigError(
            "moshi: the `moshi` package is not installed; it goes in without its pins: "
            "pip install --no-deps moshi==0.2.13 && pip install 'einops>=0.7,<0.9' "
            f"'sentencepiece>=0.2,<0.3' (see docs/models.md) ({exc})"
        ) from exc
    return MoshiModel(spec.text, checkpoint, config, params)


def _params(args: SpecArgs, config: dict[str, Any]) -> MoshiParams:
    spec = args.spec.text
    gen = config.get("lm_gen_config") or {}
    if not isinstance(gen, dict):
        raise ConfigError(f"model spec {spec!r}: lm_gen_config in config.json is not an object")
    unknown = sorted(set(gen) - {*GEN_DEFAULTS, "use_sampling"})
    if unknown:
        raise ConfigError(
            f"model spec {spec!r}: lm_gen_config key {unknown[0]!r} is not supported in process "
            f"(supported: {', '.join(sorted({*GEN_DEFAULTS, 'use_sampling'}))})"
        )
    base = {**GEN_DEFAULTS, **gen}
    device = args.choice("device", "cpu", ("cpu", "cuda"))
    threads = _int(args, "threads", 0, 1, 256) or None
    return MoshiParams(
        device=device,
        dtype=args.choice("dtype", "bfloat16" if device == "cuda" else "float32", DTYPES),
        use_sampling=bool(gen.get("use_sampling", True)),
        temp=args.float("temp", float(base["temp"]), high=100.0),
        temp_text=args.float("temp_text", float(base["temp_text"]), high=100.0),
        top_k=_int(args, "top_k", int(base["top_k"]), 0, 1 << 20),
        top_k_text=_int(args, "top_k_text", int(base["top_k_text"]), 0, 1 << 20),
        seed=_int(args, "seed", 0, 0, (1 << 63) - 1),
        batch=_int(args, "batch", 64, 1, 4096),
        threads=threads,
    )


DTYPES = ("float32", "bfloat16")


def _int(args: SpecArgs, key: str, default: int, low: int, high: int) -> int:
    raw = args.spec.args.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"model spec {args.spec.text!r}: {key}={raw!r} is not a whole number"
        ) from None
    if not low <= value <= high:
        raise ConfigError(
            f"model spec {args.spec.text!r}: {key}={value} is outside [{low}, {high}]"
        )
    return value


def _load(checkpoint: Checkpoint, config: dict[str, Any], params: MoshiParams) -> tuple[Any, ...]:
    """Mimi, the LM and the tokenizer, with the package's own loaders; errors name the file."""
    import sentencepiece
    import torch
    from moshi.models import loaders

    if config.get("model_type", "moshi") != "moshi":
        raise ConfigError(
            f"moshi config {checkpoint.config}: model_type {config['model_type']!r}; only "
            "conversational 'moshi' checkpoints run as a duplex model"
        )
    for key in ("conditioners", "lora"):
        if config.get(key):
            raise ConfigError(f"moshi config {checkpoint.config}: {key} checkpoints not supported")
    if params.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("moshi: device=cuda but torch sees no CUDA device")
    lm_kwargs = {k: v for k, v in config.items() if k not in NON_LM_KEYS} or None
    n_q, dep_q = (lm_kwargs or {}).get("n_q", 16), (lm_kwargs or {}).get("dep_q", 8)
    device = torch.device(params.device)
    try:
        mimi = loaders.get_mimi(
            checkpoint.mimi,
            checkpoint.read_mimi_config(),
            device=device,
            num_codebooks=max(dep_q, n_q - dep_q),
        )
    except Exception as exc:
        raise ConfigError(f"moshi: cannot load Mimi from {checkpoint.mimi}: {_first(exc)}") from exc
    try:
        lm = loaders.get_moshi_lm(
            checkpoint.lm, lm_kwargs=lm_kwargs, device=device, dtype=getattr(torch, params.dtype)
        )
    except Exception as exc:
        hint = f"; a PersonaPlex checkpoint? {PROMPT_HINT}" if "Missing key" in str(exc) else ""
        raise ConfigError(
            f"moshi: cannot load the LM from {checkpoint.lm}: {_first(exc)}{hint}"
        ) from exc
    try:
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(checkpoint.tokenizer))
    except Exception as exc:
        raise ConfigError(f"moshi: cannot load tokenizer {checkpoint.tokenizer}: {exc}") from exc
    if (mimi.sample_rate, mimi.frame_size) != (RATE, FRAME):
        raise ConfigError(
            f"moshi: Mimi runs {mimi.frame_size}-sample frames at {mimi.sample_rate} Hz; the "
            f"harness steps {FRAME} samples at {RATE} Hz"
        )
    if lm.text_card > tokenizer.get_piece_size():
        raise ConfigError(
            f"moshi: the LM emits {lm.text_card} text ids, tokenizer {checkpoint.tokenizer} has "
            f"{tokenizer.get_piece_size()} pieces"
        )
    return mimi, lm, tokenizer


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


class MoshiModel(BatchLockstepModel):
    sample_rate = RATE
    frame_size = FRAME

    def __init__(
        self, spec: str, checkpoint: Checkpoint, config: dict[str, Any], params: MoshiParams
    ) -> None:
        import torch
        from moshi.models import LMGen

        from duplex.models import moshi_sampling

        self.spec, self.checkpoint, self.params = spec, checkpoint, params
        if params.threads:
            torch.set_num_threads(params.threads)
        self.mimi, self.lm, self.tokenizer = _load(checkpoint, config, params)
        moshi_sampling.install()
        self.gen = LMGen(
            self.lm,
            use_sampling=params.use_sampling,
            temp=params.temp,
            temp_text=params.temp_text,
            top_k=params.top_k,
            top_k_text=params.top_k_text,
            # Rows start and end at different steps: per-row offsets instead of one batch clock.
            support_out_of_sync=True,
        )
        self.device = torch.device(params.device)
        self.max_batch = params.batch
        self.silent_text = {self.lm.text_padding_token_id, self.lm.end_of_text_padding_id}
        self.lock = threading.Lock()
        self.installed: _MoshiBatch | None = None
        self.warm: set[int] = set()  # batch sizes already stepped once (the first step is slow)
        #: seconds spent inside the package (Mimi encode, LM step, Mimi decode) over all steps;
        #: the rest of a step's time is the harness's (duplex.bench.moshi)
        self.forward_s = 0.0
        self.steps = 0  # batched steps taken

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "moshi": importlib.metadata.version("moshi"),
            "params": asdict(self.params),
            "checkpoint": self.checkpoint.describe(),
            "lm_parameters": sum(p.numel() for p in self.lm.parameters()),
            "sampling": "one generator per session (duplex.models.moshi_sampling)",
        }

    def open_batch(self, capacity: int) -> BatchLockstepSession:
        if not 1 <= capacity <= self.max_batch:
            raise ConfigError(f"model {self.spec!r}: batch {capacity} outside 1..{self.max_batch}")
        return _MoshiBatch(self, capacity)

    def session_seed(self, info: SessionInfo) -> int:
        """The session's sampling seed: the spec's seed, the run's seed and the item id."""
        text = f"{self.params.seed}/{info.seed}/{info.item_id}".encode()
        return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1

    def generator(self, seed: int) -> torch.Generator:
        import torch

        return torch.Generator(device=self.device).manual_seed(seed)


class _MoshiBatch(BatchLockstepSession):
    def __init__(self, model: MoshiModel, capacity: int) -> None:
        self.model, self.capacity = model, capacity
        spare = model.generator(0)  # rows without a session sample too; their output is unused
        self.generators = [spare] * capacity
        self.masks: dict[str, tuple[bool, ...]] = {}  # execution masks last set, per module
        with model.lock:
            if model.installed is not None:
                _set_states(model, None)
            self.stack: contextlib.ExitStack | None = contextlib.ExitStack()
            self.stack.enter_context(model.mimi.streaming(capacity))
            self.stack.enter_context(model.gen.streaming(capacity))
            self.states = _get_states(model)
            model.installed = self
            if capacity not in model.warm:
                self._warm_up()
                model.warm.add(capacity)

    def _warm_up(self) -> None:
        """Two throwaway steps (the first step of a batch size takes seconds), then a reset."""
        import torch

        from duplex.models import moshi_sampling

        m = self.model
        with torch.no_grad(), moshi_sampling.rows(self.generators):
            for _ in range(2):
                silence = torch.zeros(self.capacity, 1, FRAME, device=m.device)
                tokens = _lm_step(m, m.mimi.encode(silence))
                m.mimi.decode(tokens[:, 1:].clamp(min=0))
        m.mimi.reset_streaming()
        m.gen.reset_streaming()

    def _install(self) -> None:
        if self.model.installed is not self:
            _set_states(self.model, self.states)
            self.model.installed = self

    def join(self, slot: int, info: SessionInfo) -> None:
        import torch

        m = self.model
        mask = torch.zeros(self.capacity, dtype=torch.bool, device=m.device)
        mask[slot] = True
        with m.lock:
            self._install()
            m.mimi.reset_streaming(mask)
            m.gen.reset_streaming(mask)
        self.masks.clear()  # a reset sets the row's execution flag in every state
        self.generators[slot] = m.generator(m.session_seed(info))

    def leave(self, slot: int) -> None:
        """Nothing to release: the row is masked out until the next join resets it."""

    def step(self, frames: Mapping[int, np.ndarray]) -> dict[int, StepOutput]:
        import torch

        from duplex.models import moshi_sampling

        m = self.model
        x = np.zeros((self.capacity, 1, FRAME), np.float32)
        for slot, frame in frames.items():
            x[slot, 0] = frame
        active = tuple(s in frames for s in range(self.capacity))
        with m.lock, torch.no_grad(), moshi_sampling.rows(self.generators):
            self._install()
            t = time.perf_counter()
            pcm, text, valid = self._forward(torch.from_numpy(x).to(m.device), active)
            m.forward_s += time.perf_counter() - t
            m.steps += 1
        out: dict[int, StepOutput] = {}
        for slot in frames:
            if not valid[slot]:  # the session's first step: the LM has no audio yet
                out[slot] = StepOutput(np.zeros(FRAME, np.float32))
                continue
            token = text[slot]
            piece = "" if token in m.silent_text else m.tokenizer.id_to_piece(token)
            out[slot] = StepOutput(pcm[slot], (piece.replace("\u2581", " "),) if piece else ())
        return out

    def _forward(
        self, x: torch.Tensor, active: tuple[bool, ...]
    ) -> tuple[np.ndarray, list[int], list[bool]]:
        m = self.model
        self._mask("mimi", m.mimi, active)
        self._mask("gen", m.gen, active)
        tokens = _lm_step(m, m.mimi.encode(x))
        ready = (tokens[:, 1:, 0] >= 0).all(dim=1).tolist()
        valid = tuple(a and r for a, r in zip(active, ready, strict=True))
        self._mask("mimi", m.mimi, valid)  # decoding: rows without tokens keep their state
        pcm = m.mimi.decode(tokens[:, 1:].clamp(min=0))
        audio = pcm[:, 0].float().cpu().numpy()
        return audio, tokens[:, 0, 0].tolist(), list(valid)

    def _mask(self, name: str, module: Any, mask: tuple[bool, ...]) -> None:
        import torch

        if self.masks.get(name) != mask:
            module.set_exec_mask(torch.tensor(mask, device=self.model.device))
            self.masks[name] = mask

    def close(self) -> None:
        m = self.model
        with m.lock:
            if self.stack is None:
                return
            self._install()
            self.stack.close()
            self.stack = None
            m.installed = None


def _lm_step(model: MoshiModel, codes: torch.Tensor) -> torch.Tensor:
    """[B, 1 + dep_q, 1] tokens, -2 in rows that generated nothing this step."""
    tokens = model.gen.step(codes)
    # Out-of-sync mode marks rows without output instead of returning None for the batch.
    assert tokens is not None
    return tokens


def _get_states(model: MoshiModel) -> tuple[dict[str, Any], ...]:
    # The LM is "detached" from LMGen's streaming tree, so it carries states of its own.
    return (
        model.mimi.get_streaming_state(),
        model.gen.get_streaming_state(),
        model.lm.get_streaming_state(),
    )


def _set_states(model: MoshiModel, states: tuple[dict[str, Any], ...] | None) -> None:
    """Install a batch's states in the modules, or clear them (None) for a new batch."""
    modules = (model.mimi, model.gen, model.lm)
    if states is None:
        for module in modules:
            module.set_streaming_state(dict.fromkeys(module.get_streaming_state()))
    else:
        for module, state in zip(modules, states, strict=True):
            module.set_streaming_state(state)
