"""Write a tiny, randomly initialised Moshi checkpoint (about 22 MB) for tests and benchmarks.

``python -m duplex.models.moshi_tiny OUT_DIR [--seed N]`` (needs the ``moshi`` package). It builds
the models with the package's real constructors, so ``moshi:dir=OUT_DIR`` and the genuine
``moshi.server`` load them with their real loaders; nothing is downloaded. Shapes follow
``/work/shared/reference/moshi-reference-server.md``: frames stay 1920 samples (24 kHz, 12.5 Hz,
SEANet ratios 8,6,5,4) while every width is shrunk so one 80 ms step takes tens of milliseconds on
one CPU thread. ``--seed`` changes the LM's weights only, as checkpoints of one training run share
their Mimi codec and text tokenizer; seed 0 is the reference server tests' checkpoint. The script
also runs inside the reference server's own environment (it imports nothing else from duplex).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VOCAB = 512
WORDS = (
    "hello",
    "there",
    "how",
    "are",
    "you",
    "today",
    "I",
    "am",
    "fine",
    "thanks",
    "what",
    "about",
    "the",
    "weather",
    "it",
    "is",
    "sunny",
    "and",
    "warm",
    "we",
    "could",
    "go",
    "for",
    "a",
    "walk",
    "later",
    "maybe",
    "after",
    "lunch",
    "do",
    "you",
    "like",
    "music",
    "yes",
    "I",
    "play",
    "the",
    "piano",
    "a",
    "bit",
    "tell",
    "me",
    "more",
    "about",
    "your",
    "day",
    "it",
    "was",
    "long",
    "but",
    "good",
    "the",
    "train",
    "was",
    "late",
    "again",
)

MIMI_CONFIG = {
    "sample_rate": 24000,
    "channels": 1,
    "frame_rate": 12.5,
    "seanet": {
        "channels": 1,
        "dimension": 64,
        "causal": True,
        "n_filters": 8,
        "n_residual_layers": 1,
        "activation": "ELU",
        "compress": 2,
        "dilation_base": 2,
        "disable_norm_outer_blocks": 0,
        "kernel_size": 7,
        "residual_kernel_size": 3,
        "last_kernel_size": 3,
        "norm": "none",
        "pad_mode": "constant",
        "ratios": [8, 6, 5, 4],
        "true_skip": True,
    },
    "quantizer": {
        "dimension": 32,
        "n_q": 8,
        "bins": 2048,
        "input_dimension": 64,
        "output_dimension": 64,
    },
    "transformer": {
        "d_model": 64,
        "num_heads": 4,
        "num_layers": 1,
        "causal": True,
        "layer_scale": 0.01,
        "context": 250,
        "conv_layout": True,
        "max_period": 10000,
        "gating": "none",
        "norm": "layer_norm",
        "positional_embedding": "rope",
        "dim_feedforward": 128,
        "input_dimension": 64,
        "output_dimensions": [64],
    },
}

LM_KWARGS = {
    "dim": 64,
    "text_card": VOCAB,
    "existing_text_padding_id": 3,
    "n_q": 16,
    "dep_q": 8,
    "card": 2048,
    "num_heads": 4,
    "num_layers": 2,
    "hidden_scale": 4.125,
    "causal": True,
    "layer_scale": None,
    "context": 750,
    "max_period": 10000,
    "gating": "silu",
    "norm": "rms_norm_f32",
    "positional_embedding": "rope",
    "depformer_dim": 64,
    "depformer_dim_feedforward": 128,
    "depformer_num_heads": 4,
    "depformer_num_layers": 1,
    "depformer_layer_scale": None,
    "depformer_multi_linear": True,
    "depformer_context": 8,
    "depformer_max_period": 10000,
    "depformer_gating": "silu",
    "depformer_pos_emb": "none",
    "depformer_weights_per_step": True,
    "delays": [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1],
}


def write_tokenizer(out: Path) -> Path:
    import sentencepiece as spm

    rng = random.Random(0)
    corpus = out / "corpus.txt"
    # Real words plus made-up ones from random syllables: enough distinct pieces for 512 ids.
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    made_up = ["".join(rng.choices(syllables, k=rng.randint(1, 3))) for _ in range(3000)]
    vocab = list(WORDS) + made_up
    lines = (" ".join(rng.choice(vocab) for _ in range(rng.randint(4, 14))) for _ in range(4000))
    corpus.write_text("\n".join(lines) + "\n")
    prefix = out / "tokenizer"
    # Seeded and on one thread, so that every checkpoint written gets the same tokenizer.
    spm.set_random_generator_seed(0)
    # The same special ids as Moshi's real tokenizer: the server treats 0 and 3 as padding.
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=VOCAB,
        model_type="unigram",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    return prefix.with_suffix(".model")


def piece_count(tokenizer: Path) -> int:
    import sentencepiece as spm

    return int(spm.SentencePieceProcessor(model_file=str(tokenizer)).get_piece_size())


def write_mimi(out: Path) -> Path:
    import torch
    from moshi.models import loaders
    from safetensors.torch import save_file

    torch.manual_seed(0)
    mimi = loaders.get_mimi(None, MIMI_CONFIG, device="cpu", num_codebooks=8)
    # Fresh codebooks are all zero, so every frame would encode to code 0: give them content.
    for name, buf in mimi.named_buffers():
        if name.endswith("embedding_sum"):
            buf.copy_(torch.randn_like(buf))
        elif name.endswith("cluster_usage") or name.endswith("_initialized"):
            buf.fill_(1.0)
    state = {k: v.contiguous() for k, v in mimi.state_dict().items()}
    path = out / "mimi.safetensors"
    save_file(state, str(path))
    return path


def write_lm(out: Path, text_card: int, seed: int = 0) -> Path:
    import torch
    from moshi.models import loaders
    from safetensors.torch import save_file

    torch.manual_seed(1 + seed)
    lm = loaders.get_moshi_lm(
        None, lm_kwargs={**LM_KWARGS, "text_card": text_card}, device="cpu", dtype=torch.float32
    )
    # Random weights: the text head emits a piece on most frames, which exercises kind 2.
    state = {k: v.contiguous() for k, v in lm.state_dict().items()}
    path = out / "moshi.safetensors"
    save_file(state, str(path))
    return path


def write(out_dir: str | Path, seed: int = 0) -> Path:
    """Write the checkpoint into ``out_dir`` (kept if already complete); return the folder."""
    out = Path(out_dir).resolve()
    if (out / "READY").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = write_tokenizer(out)
    mimi = write_mimi(out)
    # The server calls id_to_piece on every sampled text token: the LM's text vocabulary must not
    # be larger than the tokenizer's.
    text_card = min(VOCAB, piece_count(tokenizer))
    lm = write_lm(out, text_card, seed)
    config: dict[str, Any] = {**LM_KWARGS, "text_card": text_card}
    config.update(
        model_type="moshi",
        lm_gen_config={},
        mimi_config_name=f"file://{out / 'mimi_config.json'}",
        moshi_name=f"file://{lm}",
        mimi_name=f"file://{mimi}",
        tokenizer_name=f"file://{tokenizer}",
    )
    (out / "mimi_config.json").write_text(json.dumps(MIMI_CONFIG))
    (out / "config.json").write_text(json.dumps(config, indent=1))
    (out / "READY").write_text("ok\n")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="folder to write (moshi:dir=OUT loads it)")
    parser.add_argument("--seed", type=int, default=0, help="LM weights seed (default 0)")
    args = parser.parse_args(argv)
    print(write(args.out, args.seed))


if __name__ == "__main__":
    main()
