"""Progress of a long command on the terminal: a bar on a terminal, one line per item otherwise.

A log file or a CI console does not interpret carriage returns, so a bar redrawn for every item
there becomes thousands of partial lines; it gets one plain line per finished item instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

#: (label of the item just finished, items done, items in all)
Progress = Callable[[str, int, int], None]


def progress(enabled: bool = True, *, unit: str = "item", out: TextIO | None = None) -> Progress:
    """A progress callback. A new bar (or count) starts whenever ``done`` comes back to 1, so one
    callback can follow several runs in turn (``run --scenario all``)."""
    stream = out or sys.stderr
    if not enabled:
        return lambda _label, _done, _total: None
    if not stream.isatty():

        def line(label: str, done: int, total: int) -> None:
            print(f"[{done}/{total}] {label}", file=stream, flush=True)

        return line
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def bar(label: str, done: int, total: int) -> None:
        if done == 1 or "bar" not in state:
            state["bar"] = tqdm(total=total, unit=unit, file=stream)
        state["bar"].set_postfix_str(label)
        state["bar"].update(1)
        if done == total:
            state["bar"].close()

    return bar
