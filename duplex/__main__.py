"""`python -m duplex` is the same as the `duplex-bench` command."""

import sys

from duplex.cli import main

sys.exit(main())
