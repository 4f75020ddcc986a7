"""Full-Duplex-Bench folders: fixtures built from the documented layout, scored against answers
worked out by hand from the anchor's definitions; export -> score round trips."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from duplex.annotations import Annotations, BackchannelPoint, Cue, Interrupt
from duplex.audio import read_wav, write_wav
from duplex.errors import ConfigError, ScenarioError
from duplex.metrics import TASKS, analyze_output, fdb_rules, fdbio
from duplex.metrics.timing_bins import span_distribution
from duplex.report.documents import to_json as J
from duplex.report.fdb import export_fdb_session, read_words, score_fdb_folder
from duplex.simulator.recording import Recording
from duplex.speech import fdb_vad
from duplex.speech.asr import Transcript, Word
from duplex.timeline import Span, SpeechSpan
from tests.speech.speechdata import place, say

RATE16 = 16000


def chunks(*words: tuple[str, float, float]) -> dict[str, Any]:
    return {
        "text": " ".join(w for w, _, _ in words),
        "chunks": [{"text": w, "timestamp": [a, b]} for w, a, b in words],
    }


def sample(
    root: Path,
    name: str,
    files: dict[str, Any],
    output: np.ndarray | None = None,
    duration: float = 8.0,
    rate: int = RATE16,
) -> Path:
    d = root / name
    d.mkdir(parents=True)
    n = round(duration * rate)
    write_wav(d / "input.wav", np.zeros(n, np.float32), rate)
    write_wav(d / "output.wav", np.zeros(n, np.float32) if output is None else output, rate)
    for fname, doc in files.items():
        (d / fname).write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return d


def test_turn_taking_folder_reproduces_the_anchor(tmp_path: Path) -> None:
    tt = [{"text": "[TURN-TAKING]", "timestamp": [2.9, 8.0]}]
    # 1: four words from 3.4 s: TO 1, latency 0.5
    words1 = chunks(("sure", 3.4, 3.7), ("I", 3.7, 3.8), ("can", 3.8, 4.0), ("help", 4.0, 4.3))
    sample(tmp_path, "1", {"turn_taking.json": tt, "output.json": words1})
    # 2: two words in 0.5 s: TO 0, no latency
    sample(tmp_path, "2", {"turn_taking.json": tt, "output.json": chunks(("ok", 3.0, 3.2))})
    # 10: a first word before the turn end: latency clipped to 0
    words10 = chunks(("well", 2.5, 2.8), ("the", 2.9, 3.0), ("way", 3.0, 3.6), ("is", 3.6, 3.8))
    sample(tmp_path, "10", {"turn_taking.json": tt, "output.json": words10})
    res = score_fdb_folder(tmp_path, "turn_taking")
    assert [r["item_id"] for r in [J(r) for r in res.rows]] == ["1", "2", "10"]  # natural order
    m = {r["item_id"]: r["metrics"] for r in [J(r) for r in res.rows]}
    assert (m["1"]["tor_fdb"], m["1"]["latency_fdb_s"]) == (1, pytest.approx(0.5))
    assert (m["2"]["tor_fdb"], m["2"]["latency_fdb_s"]) == (0, None)
    assert (m["10"]["tor_fdb"], m["10"]["latency_fdb_s"]) == (1, 0.0)
    # the output audio is silent: our voice-activity figures see no response
    assert m["1"]["tor"] == 0 and m["1"]["latency_vad_s"] is None
    s = J(res.summary)["metrics"]
    assert s["tor_fdb"]["mean"] == pytest.approx(2 / 3)
    assert s["latency_fdb_s"]["mean"] == pytest.approx(0.25) and s["latency_fdb_s"]["n"] == 2
    assert J(res.summary)["backends"]["asr"] == "output.json (3)"
    assert J(res.summary)["items"] == {"planned": 3, "ok": 3, "failed": 0}
    assert all(r.notes["words_from"] == "output.json" for r in res.rows)


def test_pause_folder_and_failures_are_rows(tmp_path: Path) -> None:
    pause = [{"text": "[PAUSE]", "timestamp": [2.0, 2.8]}]
    sample(tmp_path, "a", {"pause.json": pause, "output.json": chunks(("yeah", 2.2, 2.5))})
    words = chunks(*[(f"w{i}", 5.0 + 0.3 * i, 5.25 + 0.3 * i) for i in range(6)])
    sample(tmp_path, "b", {"pause.json": pause, "output.json": words})
    sample(tmp_path, "c", {"pause.json": "{not json", "output.json": words})
    sample(tmp_path, "d", {"pause.json": [{"timestamp": [3.0, "x"]}]})
    sample(tmp_path, "e", {"pause.json": pause, "output.json": {"chunks": [{"text": "w"}]}})
    (tmp_path / "e" / "output.wav").unlink()
    (tmp_path / "notes").mkdir()  # not a sample folder: ignored
    res = score_fdb_folder(tmp_path, "pause_handling")
    rows = {r["item_id"]: r for r in [J(r) for r in res.rows]}
    assert set(rows) == {"a", "b", "c", "d", "e"}
    assert rows["a"]["metrics"]["tor_fdb"] == 0 and rows["b"]["metrics"]["tor_fdb"] == 1
    assert rows["a"]["metrics"]["tor_window"] == 0  # silent audio: no activity
    assert rows["c"]["status"] == "failed" and "pause.json" in rows["c"]["reason"]
    assert "not readable JSON" in rows["c"]["reason"]
    assert "[0].timestamp[1]" in rows["d"]["reason"]
    assert "output.wav" in rows["e"]["reason"]
    assert J(res.summary)["items"] == {"planned": 5, "ok": 2, "failed": 3}
    assert J(res.summary)["metrics"]["tor_fdb"]["mean"] == 0.5
    assert {f["item_id"] for f in J(res.summary)["failures"]} == {"c", "d", "e"}


def test_interruption_folder_uses_words_after_the_interruption(tmp_path: Path) -> None:
    meta = [{"timestamp": [4.0, 5.5], "context": "tell me about tea", "interrupt": "and coffee?"}]
    after = [(f"a{i}", 6.2 + 0.3 * i, 6.45 + 0.3 * i) for i in range(5)]
    # the anchor's ASR transcribes only what follows the interruption: output.json holds those
    sample(tmp_path, "x", {"interrupt.json": meta, "output.json": chunks(*after)})
    v15 = {"timestamps": [4.0, 5.5], "context_text": "ctx", "current_turn_text": "stop"}
    sample(tmp_path, "y", {"metadata.json": v15, "output.json": chunks()})  # silent after it
    res = score_fdb_folder(tmp_path, "user_interruption")
    x, y = [J(r) for r in res.rows]
    assert x["metrics"]["tor_fdb"] == 1 and x["metrics"]["latency_fdb_s"] == pytest.approx(0.7)
    assert x["metrics"]["fallback"] is None  # fixed-time interruption
    assert x["details"] == {
        "context": "tell me about tea",
        "interrupt_text": "and coffee?",
        "response_transcript": "a0 a1 a2 a3 a4",
    }
    assert y["metrics"]["tor_fdb"] == 0 and y["details"]["interrupt_text"] == "stop"
    assert "details" not in J(res.summary)["metrics"]


def test_backchannel_folder_with_the_anchors_ground_truth(tmp_path: Path) -> None:
    speech = say("Mm-hmm.")
    out = place([(3.0, speech)], 8.0)
    out16 = np.interp(np.arange(round(8.0 * RATE16)) / RATE16, np.arange(out.size) / 24000, out)
    gt = [0.0] * 14 + [1.0, 2.0, 1.0] + [0.0] * 24  # 41 bins for 8 s
    words = chunks(("mm-hmm", 3.0, 3.29))
    sample(tmp_path, "sample_1", {"output.json": words}, output=out16.astype(np.float32))
    sample(tmp_path, "sample_2", {"output.json": {"text": "", "chunks": []}})  # silent
    sample(tmp_path, "sample_9", {"output.json": {"text": "", "chunks": []}})  # no truth
    # the anchor's keys: the exact folder name only ("8", the number in "sample_9" minus one,
    # is another sample's truth and must not be used for it)
    truth = {"sample_1": gt, "sample_2": gt, "8": gt}
    (tmp_path / "icc_gt_distribution.json").write_text(json.dumps(truth))
    res = score_fdb_folder(tmp_path, "backchannel")
    rows = {r["item_id"]: r for r in [J(r) for r in res.rows]}
    m1 = rows["sample_1"]["metrics"]
    x, rate = read_wav(tmp_path / "sample_1" / "output.wav")
    segments, duration = fdb_vad.backchannel_segments(x, rate)
    assert len(segments) == 1 and segments[0][0] == pytest.approx(3.0, abs=0.1)
    anchor = fdb_rules.backchannel_sample(segments, [(3.0, 3.29)], duration)
    assert m1["jsd_fdb"] == fdb_rules.backchannel_jsd(anchor.predictions, duration, gt)
    assert m1["tor"] == 0 and m1["tor_fdb"] == 0
    assert m1["frequency"] == pytest.approx(1 / 8.0) and m1["frequency_fdb"] == m1["frequency"]
    assert m1["js_divergence"] is None  # no reference points: only the anchor's figure
    assert rows["sample_2"]["metrics"]["jsd_fdb"] == 1.0
    assert rows["sample_9"]["status"] == "failed"
    assert "icc_gt_distribution.json" in rows["sample_9"]["reason"]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown FDB task"):
        score_fdb_folder(tmp_path, "pause")
    with pytest.raises(ScenarioError, match="no such folder"):
        score_fdb_folder(tmp_path / "missing", "turn_taking")
    with pytest.raises(ScenarioError, match="no sample folders"):
        score_fdb_folder(tmp_path, "turn_taking")


def test_read_words_tolerates_the_anchors_null_times(tmp_path: Path) -> None:
    p = tmp_path / "output.json"
    doc = {
        "text": "a b c",
        "chunks": [
            {"text": " a", "timestamp": [1.0, 1.2]},
            {"text": "b", "timestamp": [None, None]},
            {"text": "c", "timestamp": [2.0, None]},
        ],
    }
    p.write_text(json.dumps(doc))
    t, stamps = read_words(p)
    assert t.words == (Word(1.0, 1.2, "a", 1.0), Word(2.0, 2.0, "c", 1.0))
    assert stamps == ((1.0, 1.2), (None, None), (2.0, None))  # as the anchor's scripts read them
    p.write_text(json.dumps({"chunks": [{"text": "a", "timestamp": ["x", 1]}]}))
    with pytest.raises(ScenarioError, match=r"chunks\[0\].timestamp\[0\]"):
        read_words(p)


# ------------------------------------------------------------------------------ round trips

DUR = 14.0
RATE = 24000


def _rec(model: np.ndarray, ann: Annotations | None = None) -> Recording:
    user = place([(0.5, say("Tell me a little about the history of tea, please."))], DUR)
    return Recording(RATE, user, model, annotations=ann)


def _same_metrics(a: dict[str, Any], b: dict[str, Any], tol: float = 0.01) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if a[k] is None or b[k] is None:
            assert a[k] is b[k], k
        else:
            assert a[k] == pytest.approx(b[k], abs=tol), k


def test_export_then_score_round_trips(tmp_path: Path) -> None:
    talk = say("Tea was first drunk in China, many centuries ago.")
    answer = say("Coffee came much later, from Ethiopia.")
    start, end = 5.0, 6.4
    model = place([(5.3 - talk.size / RATE, talk), (end + 0.6, answer)], DUR)
    cue = Cue(
        name="interrupt",
        start=start,
        end=end,
        text="what about coffee?",
        trigger="model_onset",
        model_onset=2.0,
    )
    item = Annotations(
        speech=(SpeechSpan(0.5, 3.0, "tell me about tea"),),
        interrupt=Interrupt(text="what about coffee?", context="tell me about tea"),
    )
    resolved = replace(item, cues=(cue,))
    rec = _rec(model, resolved)
    analysis = analyze_output(rec)
    direct = {}
    for task in ("user_interruption", "turn_taking", "pause_handling"):
        ann = (
            item
            if task != "pause_handling"
            else Annotations(speech=item.speech, pauses=(Span(1.2, 2.0),))
        )
        if task == "turn_taking":
            ann = Annotations(speech=item.speech)
        direct[task] = TASKS.get(task).score(rec, ann, analysis)
        folder = export_fdb_session(tmp_path / task / "s1", rec, ann, task, analysis.transcript)
        assert {p.name for p in folder.iterdir()} >= {"input.wav", "output.wav", "output.json"}
        res = score_fdb_folder(tmp_path / task, task)
        assert J(res.rows[0])["status"] == "ok", J(res.rows[0])
        _same_metrics(J(res.rows[0])["metrics"], direct[task])
    # the anchor's formats
    meta = json.loads((tmp_path / "user_interruption/s1/interrupt.json").read_text())
    assert meta[0]["timestamp"] == [start, end] and meta[0]["interrupt"] == "what about coffee?"
    assert meta[0]["context"] == "tell me about tea"
    words = json.loads((tmp_path / "user_interruption/s1/output.json").read_text())
    assert words["chunks"] and all(c["timestamp"][0] >= end for c in words["chunks"])
    tt = json.loads((tmp_path / "turn_taking/s1/turn_taking.json").read_text())
    assert tt[0]["timestamp"][0] == 3.0
    pj = json.loads((tmp_path / "pause_handling/s1/pause.json").read_text())
    assert pj == [{"text": "[PAUSE]", "timestamp": [1.2, 2.0]}]
    x, rate = read_wav(tmp_path / "turn_taking/s1/output.wav")
    assert rate == 16000 and x.size == fdbio.pcm16(model, RATE).size  # FDB's scripts' rate


def test_backchannel_export_round_trip(tmp_path: Path) -> None:
    points = [2.0, 6.1, 10.4]
    mm = say("Mm-hmm.")
    ann = Annotations(
        speech=(SpeechSpan(0.3, 13.0, "a story"),),
        backchannel_points=tuple(BackchannelPoint(t, 1.0) for t in points),
    )
    model = place([(t, mm) for t in points], DUR)
    model = model + (1e-3 * np.random.default_rng(0).standard_normal(model.size)).astype(np.float32)
    rec = _rec(model.astype(np.float32))
    words = Transcript("mm mm mm", tuple(Word(t, t + 0.29, "mm", 1.0) for t in points))
    analysis = analyze_output(rec, asr=None)
    from dataclasses import replace

    direct = TASKS.get("backchannel").score(rec, ann, replace(analysis, transcript=words))
    for i in (1, 2):
        export_fdb_session(tmp_path / f"s{i}", rec, ann, "backchannel", words)
    gt = json.loads((tmp_path / "icc_gt_distribution.json").read_text())
    assert set(gt) == {"s1", "s2"}  # merged, one entry per exported session
    assert gt["s1"] == pytest.approx(
        span_distribution([(t, 1.0) for t in points], DUR).tolist(), abs=1e-6
    )
    res = score_fdb_folder(tmp_path, "backchannel")
    assert [r.status for r in res.rows] == ["ok", "ok"]
    _same_metrics(J(res.rows[0])["metrics"], direct, tol=1e-3)
    assert direct["js_divergence"] is not None and direct["js_divergence"] < 0.01


def test_export_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    rec = Recording(RATE, np.zeros(RATE, np.float32), np.zeros(RATE, np.float32))
    empty = Transcript("", ())
    with pytest.raises(ScenarioError, match="no resolved interruption"):
        export_fdb_session(tmp_path / "a", rec, Annotations(speech=()), "user_interruption", empty)
    with pytest.raises(ScenarioError, match="no backchannel reference"):
        export_fdb_session(tmp_path / "b", rec, Annotations(speech=()), "backchannel", empty)
    with pytest.raises(ConfigError):
        export_fdb_session(tmp_path / "c", rec, Annotations(speech=()), "nope", empty)
