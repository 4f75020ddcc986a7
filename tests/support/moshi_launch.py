"""Start the genuine ``moshi.server`` on a CPU-only torch (runs inside the moshi venv).

The server's warm-up calls ``torch.cuda.synchronize()`` unconditionally, which raises on a torch
built without CUDA. Replacing that one function with a no-op when CUDA is absent is the only
change; the module then runs exactly as ``python -m moshi.server`` would, with the same argv.
"""

from __future__ import annotations

import runpy

import torch

if not torch.cuda.is_available():
    torch.cuda.synchronize = lambda *args, **kwargs: None  # type: ignore[assignment]

if __name__ == "__main__":
    runpy.run_module("moshi.server", run_name="__main__", alter_sys=True)
