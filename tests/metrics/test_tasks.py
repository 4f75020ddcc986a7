"""The task registry: what a Task declares, and what the harness derives from it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from duplex.errors import ConfigError, ScenarioError
from duplex.metrics.tasks import TASKS, Metric, all_tasks, leaderboard_columns, load_task_suite

GOOD = """\
suite: mini
version: "1.0"
task: user_interruption
description: two tiny items
items:
  - id: a-1
    script:
      - say: hi
"""


def test_a_task_names_the_cues_its_items_need(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(GOOD), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_task_suite(str(path))
    message = (
        "bad.yaml: item 'a-1': interrupt: missing (every item of task 'user_interruption' "
        "needs one)"
    )
    assert str(err.value).startswith(message)


def test_every_registered_task_loads_and_describes_its_figures() -> None:
    tasks = all_tasks()
    assert {t.name for t in tasks} >= {
        "pause_handling",
        "backchannel",
        "turn_taking",
        "user_interruption",
        "live",
    }
    for task in tasks:
        assert task.headline, task.name
        for key, _label, direction in task.headline:
            assert task.metric(key) is not None and direction in ("lower", "higher")


def test_the_leaderboard_puts_the_anchors_columns_first_in_its_task_order() -> None:
    columns = leaderboard_columns(all_tasks())
    headers = [m.column for _, m in columns]
    assert headers[:9] == [
        "pause TOR",
        "bc TOR",
        "bc freq",
        "JSD",
        "turn TOR",
        "turn lat s",
        "int TOR",
        "judge 0-5",
        "int lat s",
    ]
    fdb = [m.fdb for _, m in columns]
    assert fdb == sorted(fdb, reverse=True)  # every anchor column before every one of ours


def test_metric_declarations_are_checked() -> None:
    with pytest.raises(ConfigError, match="direction"):
        Metric("x", "x", "sideways")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="headline"):
        Metric("x", "x", headline=True)
    assert TASKS.get("user_interruption").cues == frozenset({"interrupt"})
