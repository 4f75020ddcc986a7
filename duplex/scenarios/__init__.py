"""Scenario suites: declarative YAML specs, a deterministic cached renderer, a suite registry.

Typical use::

    from duplex.scenarios import load_suite

    suite = load_suite("pause_handling")       # or a path to your own suite file
    for item_id in suite.item_ids():
        item = suite.render(item_id)           # ScenarioItem: 24 kHz audio + annotations

Heavy dependencies (onnxruntime, the voice) load only when an item is first rendered.
"""

from duplex.scenarios.base import ReactiveCue, ScenarioItem
from duplex.scenarios.render import RENDERER_VERSION
from duplex.scenarios.spec import InterruptSpec, ItemSpec, SuiteSpec, load_spec
from duplex.scenarios.suite import SUITES, Suite, describe_suites, load_suite

__all__ = [
    "RENDERER_VERSION",
    "SUITES",
    "InterruptSpec",
    "ItemSpec",
    "ReactiveCue",
    "ScenarioItem",
    "Suite",
    "SuiteSpec",
    "describe_suites",
    "load_spec",
    "load_suite",
]
