"""The probe benchmark's summary and table (the timed run itself needs the real models)."""

from __future__ import annotations

from typing import Any

from duplex.bench.probes import _max_diff, _summary, format_probe_bench
from duplex.probes.scoring import TokenScores


def run(items_per_min: float, load: float) -> dict[str, Any]:
    s = 60.0 / items_per_min
    return {
        "items_per_min": items_per_min,
        "s_per_item": s,
        "cpu_s_per_item": 1.5 * s,
        "asr_s_per_item": 0.7 * s,
        "lm_s_per_item": 0.3 * s,
        "load_1m": load,
    }


def test_summary_takes_medians_and_keeps_every_run() -> None:
    f = _summary([run(50.0, 2.0), run(70.0, 3.0), run(60.0, 2.5)])
    assert f["items_per_min"] == 60.0 and f["runs_items_per_min"] == [50.0, 70.0, 60.0]
    assert f["s_per_item"] == 1.0 and f["cpu_s_per_item"] == 1.5
    assert f["items_per_cpu_min"] == 40.0 and f["load_1m"] == [2.0, 3.0, 2.5]


def test_max_diff_over_every_token() -> None:
    a = [(TokenScores((-1.0, -2.0)), TokenScores((-3.0,)))]
    b = [(TokenScores((-1.0, -2.00003)), TokenScores((-3.00001,)))]
    assert _max_diff(a, b) == 3e-5
    assert _max_diff(a, [(TokenScores((-1.0,)), TokenScores((-3.0,)))]) == float("inf")


def test_table_names_paths_ratio_and_load() -> None:
    fig = {c: _summary([run(60.0, 2.0)] * 3) for c in ("s2t", "t2t")}
    slow = {c: _summary([run(20.0, 2.0)] * 3) for c in ("s2t", "t2t")}
    text = format_probe_bench(
        {
            "model": "cascade",
            "sets": ["copa"],
            "items": 10,
            "batch_size": 16,
            "threads": 2,
            "cpu_count": 2,
            "repeats": 3,
            "load_average_1m": 2.0,
            "figures": {"batched": fig, "unbatched": slow},
            "s2t_warm_transcripts": fig["t2t"],
            "batched_over_unbatched": {"s2t": 3.0, "t2t": 3.0},
            "max_abs_diff_nats": {"s2t": 2e-5, "t2t": 1e-5},
            "same_transcripts": True,
            "render_cold_s_per_item": 0.4,
            "render_warm_s_per_item": 0.005,
            "lm_load_s": 30.0,
        }
    )
    assert "batch 16" in text and "load average (1 min) 2.00" in text
    assert "s2t 3.00x" in text and "same transcripts: True" in text
    assert text.count("batched ") >= 3 and "unbatched  s2t" in text
