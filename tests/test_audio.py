import numpy as np
import pytest

from duplex import audio
from duplex.errors import AudioError


@pytest.mark.parametrize(
    "src,dst", [(16000, 24000), (24000, 16000), (22050, 24000), (48000, 24000)]
)
def test_resample_length_rule_and_tone_preserved(src: int, dst: int) -> None:
    t = np.arange(src) / src
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = audio.resample(x, src, dst)
    assert y.size == round(x.size * dst / src)
    spectrum = np.abs(np.fft.rfft(y[dst // 10 : -dst // 10]))
    peak_hz = np.argmax(spectrum) * dst / (y.size - 2 * (dst // 10))
    assert abs(peak_hz - 440) < 5


def test_resample_rejects_unsupported_rate() -> None:
    with pytest.raises(AudioError, match="unsupported sample rate 12345"):
        audio.resample(np.zeros(10, np.float32), 12345, 24000)


def test_wav_round_trip(tmp_path) -> None:
    x = (np.linspace(-0.5, 0.5, 2400)).astype(np.float32)
    audio.write_wav(tmp_path / "a.wav", x, 24000)
    y, rate = audio.read_wav(tmp_path / "a.wav")
    assert rate == 24000 and y.size == x.size
    assert np.max(np.abs(y - x)) < 1e-4


def test_read_wav_resamples(tmp_path) -> None:
    audio.write_wav(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    y, rate = audio.read_wav(tmp_path / "a.wav", rate=24000)
    assert rate == 24000 and y.size == 24000


def test_read_wav_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(AudioError, match="no such audio file"):
        audio.read_wav(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(AudioError, match=r"bad\.wav: not a readable audio file"):
        audio.read_wav(bad)
    audio.write_wav(tmp_path / "st.wav", np.zeros((100, 2), np.float32), 24000)
    with pytest.raises(AudioError, match="expected 1 channel, found 2"):
        audio.read_wav(tmp_path / "st.wav")


def test_validate_catches_nan_clipping_and_shape() -> None:
    x = np.zeros(24000, np.float32)
    x[12000] = np.nan
    with pytest.raises(AudioError, match=r"stream: 1 NaN/inf samples \(first at 0.500 s\)"):
        audio.validate(x, 24000, where="stream")
    with pytest.raises(AudioError, match="beyond full scale"):
        audio.validate(np.full(10, 1.5, np.float32), 24000, where="s")
    with pytest.raises(AudioError, match="expected mono"):
        audio.validate(np.zeros((10, 2), np.float32), 24000, where="s")
    with pytest.raises(AudioError, match="unsupported sample rate"):
        audio.validate(np.zeros(10, np.float32), 11111, where="s")


def test_mix_places_sources_with_gains() -> None:
    a = np.full(10, 0.5, np.float32)
    out = audio.mix([audio.Placed(a, 0), audio.Placed(a, 5, gain_db=-6.0206)])
    assert out.size == 15
    assert out[0] == pytest.approx(0.5)
    assert out[7] == pytest.approx(0.75, abs=1e-4)
    with pytest.raises(AudioError, match="exceeds full scale"):
        audio.mix([audio.Placed(a), audio.Placed(a), audio.Placed(a)])


def test_frames_pad_the_last() -> None:
    fs = list(audio.frames(np.ones(5, np.float32), 2))
    assert [f.tolist() for f in fs] == [[1, 1], [1, 1], [1, 0]]


def test_trim_silence_keeps_the_voiced_part() -> None:
    x = np.zeros(24000, np.float32)
    x[6000:12000] = 0.3
    y = audio.trim_silence(x, 24000)
    assert abs(y.size - 6000) <= 240


def test_db_gain() -> None:
    assert audio.db_to_gain(-20) == pytest.approx(0.1)
    assert audio.rms_db(np.zeros(4, np.float32)) == float("-inf")
