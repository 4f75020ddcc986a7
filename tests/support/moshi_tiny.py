"""Run the package's tiny-checkpoint recipe (``duplex/models/moshi_tiny.py``) as a script.

Used inside the reference server's own virtual environment, where duplex is not installed: the
repository root goes on the path and the recipe imports nothing else from duplex.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from duplex.models.moshi_tiny import main

if __name__ == "__main__":
    main()
