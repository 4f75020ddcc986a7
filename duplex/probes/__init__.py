"""Intelligence probes: how much a model loses when the same content arrives as speech.

Pairs of continuations (plausible vs implausible) are scored as log-likelihoods given a text or
a spoken context (S2SBench's protocol, with more sets, controlled speech conditions and paired
bootstrap intervals). Typical use::

    from duplex.probes import ProbeConfig, format_table, run_probe

    run = run_probe(ProbeConfig(model="cascade", limit=50))
    print(format_table(run.rows, run.timing))

Heavy dependencies (torch, transformers, the voice, the ASR) load only when a model is loaded or a
context is spoken.
"""

from duplex.probes.conditions import CONDITIONS, Condition
from duplex.probes.models import ADAPTERS, DEFAULT_MODEL, check_scorer, load_scorer
from duplex.probes.report import format_table
from duplex.probes.run import ProbeConfig, ProbeRun, run_probe, summarize, write_results
from duplex.probes.scoring import ContinuationScorer, TokenScores
from duplex.probes.sets import SETS, ProbeItem, ProbeSet, load_set
from duplex.probes.sweep import run_sweep

__all__ = [
    "ADAPTERS",
    "CONDITIONS",
    "DEFAULT_MODEL",
    "SETS",
    "Condition",
    "ContinuationScorer",
    "ProbeConfig",
    "ProbeItem",
    "ProbeRun",
    "ProbeSet",
    "TokenScores",
    "check_scorer",
    "format_table",
    "load_scorer",
    "load_set",
    "run_probe",
    "run_sweep",
    "summarize",
    "write_results",
]
