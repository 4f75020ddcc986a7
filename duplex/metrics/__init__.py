"""Metrics: pure functions of a Recording and its annotations.

``analyze_output`` runs VAD and ASR on the model channel once; each task's scorer (registered in
``TASKS``) turns that analysis and the item's annotations into per-item values; ``summarize``
aggregates them with bootstrap confidence intervals.
"""

from duplex.metrics.analysis import (
    OutputAnalysis,
    analyze_each,
    analyze_output,
    analyze_outputs,
    scoring_workers,
)
from duplex.metrics.stats import bootstrap_ci, summarize
from duplex.metrics.tasks import TASKS, Headline, Task

__all__ = [
    "TASKS",
    "Headline",
    "OutputAnalysis",
    "Task",
    "analyze_each",
    "analyze_output",
    "analyze_outputs",
    "bootstrap_ci",
    "scoring_workers",
    "summarize",
]
