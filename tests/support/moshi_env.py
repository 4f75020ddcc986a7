"""The genuine Moshi server's own virtual environment, created once and reused.

moshi 0.2.13 pins versions the project's environment does not have (numpy<2.3, torch<2.10), so it
lives in ``.venv-moshi`` at the repository root (gitignored; ``DUPLEX_MOSHI_VENV`` overrides).
torch comes first and exactly as the machine's local CPU wheel: moshi's own torch pin would pull
a multi-GB CUDA build, so moshi is installed with ``--no-deps`` and its needs are listed here
within moshi's bounds (bitsandbytes and sounddevice are left out: quantisation and the live
client only). ``python -m tests.support.moshi_env`` (what ``make moshi-venv`` runs) creates it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = (
    "numpy<2.3",
    "safetensors>=0.4,<0.8",
    "huggingface-hub<1.0",
    "einops<0.9",
    "sentencepiece<0.3",
    "sphn>=0.2,<0.3",
    "aiohttp<3.12",
    "tqdm",
)
#: Bumped when the recipe changes, so a stale environment is rebuilt.
STAMP = "torch==2.13.0 moshi==0.2.13 " + " ".join(REQUIREMENTS)


def venv_dir() -> Path:
    return Path(os.environ.get("DUPLEX_MOSHI_VENV", ROOT / ".venv-moshi"))


def python() -> Path:
    return venv_dir() / "bin" / "python"


def ready() -> bool:
    stamp = venv_dir() / ".duplex-stamp"
    return python().exists() and stamp.exists() and stamp.read_text() == STAMP


def ensure() -> Path:
    """Create the environment if it is missing or stale; return its python."""
    if ready():
        return python()
    venv = venv_dir()
    shutil.rmtree(venv, ignore_errors=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, "--no-deps", "moshi==0.2.13"], check=True)
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    (venv / ".duplex-stamp").write_text(STAMP)
    return python()


if __name__ == "__main__":
    print(ensure())
