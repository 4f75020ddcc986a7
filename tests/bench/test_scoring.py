"""The scoring benchmark: what it scores, and that its report adds up."""

from __future__ import annotations

import pytest

from duplex.bench import scoring


def test_cases_talk_all_the_time_and_a_tenth_of_the_time() -> None:
    talking, sparse = scoring.build_cases(60.0, 15.0)
    assert (talking.name, sparse.name) == ("talking", "sparse")
    for case in (talking, sparse):
        assert len(case.recordings) == 4 and case.audio_s == pytest.approx(60.0)
        for rec in case.recordings:
            assert rec.annotations is not None and rec.annotations.pauses
            assert rec.model.size == rec.user.size
    assert talking.speech_s / talking.audio_s > 0.8
    assert 0.04 < sparse.speech_s / sparse.audio_s < 0.2
    # seeded: the same recordings every time
    again = scoring.build_cases(60.0, 15.0)[0]
    pairs = zip(talking.recordings, again.recordings, strict=True)
    assert all((a.model == b.model).all() for a, b in pairs)


@pytest.mark.slow
def test_run_reports_both_cases_in_every_mode() -> None:
    result = scoring.measure(repeats=1, seconds=30.0)
    assert set(result["cases"]) == {"talking", "sparse"}
    for modes in result["cases"].values():
        assert set(modes) == set(scoring.MODES)
        for mode, c in modes.items():
            assert c["items"] == 2 and c["wall_s"] > 0
            assert c["speech_x_realtime"] == pytest.approx(c["speech_s"] / c["wall_s"], rel=0.01)
            # the bound decodes no words: its stages are the VAD and the encoder
            words = scoring.MODES[mode].words
            stages = {"vad_s", "encoder_s"} if words == "none" else {"vad_s", "asr_s"}
            assert stages <= set(c["stages_s"])
            # the run's ways give the same words; greedy's are compared with them
            if words == "beam":
                assert c["words_changed"] == 0.0
            assert (words == "none") == ("words_changed" not in c)
            assert sum(c["stages_s"].values()) <= c["wall_s"] * 1.01
    text = scoring.format(result)
    assert "talking" in text and "sparse" in text and "load average" in text
