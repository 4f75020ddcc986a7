import numpy as np

from duplex.events import ModelAudio, ModelAudioCleared, ModelText
from duplex.simulator.recorder import Recorder


def ones(n: int) -> np.ndarray:
    return np.ones(n, np.float32)


def test_audio_plays_from_arrival_or_after_earlier_audio() -> None:
    r = Recorder(np.zeros(100, np.float32), 1000)
    r.add(ModelAudio(10, ones(20)))  # plays 10..30
    r.add(ModelAudio(15, 2 * ones(10)))  # burst: waits until 30, plays 30..40
    r.add(ModelAudio(60, 3 * ones(5)))  # after a gap: plays at its arrival
    rec = r.finish({})
    assert rec.model[9] == 0 and rec.model[10] == 1 and rec.model[29] == 1
    assert rec.model[30] == 2 and rec.model[39] == 2 and rec.model[40] == 0
    assert rec.model[60] == 3 and rec.timings["model_samples_delayed"] == 15


def test_clear_cuts_queued_playout() -> None:
    r = Recorder(np.zeros(100, np.float32), 1000)
    r.add(ModelAudio(0, ones(80)))
    r.add(ModelAudioCleared(30))
    r.add(ModelAudio(35, 2 * ones(5)))
    rec = r.finish({})
    assert rec.model[29] == 1 and rec.model[30] == 0 and rec.model[35] == 2 and rec.model[41] == 0


def test_past_the_end_is_dropped_and_counted() -> None:
    r = Recorder(np.zeros(50, np.float32), 1000)
    r.add(ModelAudio(40, ones(30)))
    r.add(ModelText(45, "hi"))
    rec = r.finish({})
    assert rec.model.size == rec.user.size == 50
    assert rec.timings["model_samples_dropped"] == 20
    assert [type(e).__name__ for e in rec.events] == ["ModelAudio", "ModelText"]


def test_frame_synchronous_playout_skips_queued_silence_but_never_speech() -> None:
    r = Recorder(np.zeros(100, np.float32), 1000, skip_queued_silence=True)
    r.add(ModelAudio(10, ones(20)))  # plays 10..30
    r.add(ModelAudio(12, np.zeros(10, np.float32)))  # silence that would wait: not queued
    r.add(ModelAudio(14, 2 * ones(5)))  # speech that would wait: queued, plays 30..35
    r.add(ModelAudio(50, np.zeros(10, np.float32)))  # silence on time: played (nothing to hear)
    r.add(ModelAudio(52, 3 * ones(5)))  # waits behind that silence: plays at 60
    rec = r.finish({})
    assert rec.model[30] == 2 and rec.model[34] == 2 and rec.model[35] == 0
    assert rec.model[60] == 3 and rec.timings["model_silence_skipped"] == 10
