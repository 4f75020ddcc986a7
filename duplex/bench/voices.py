"""Are the other talkers distinct from the user's voices, and still intelligible?

Per voice (the user's joe / joe-low / joe-high and every talker in duplex.speech.voices), over
the same sentences: F0 median and spread (Praat pitch, semitones re 100 Hz), F1/F2 medians
(Praat Burg formants on voiced frames), spectral centroid of the voiced frames, and the word
error rate of Whisper tiny.en - dry, and for talkers also through the ``background`` room effect.
The last columns give each talker's distance to the *closest* user voice: F0 in semitones and
F2 in percent.

``duplex-bench bench voices [--json out.json]`` (needs the extra ``praat``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np

from duplex.bench.base import Benchmark, load_average

SENTENCES = (
    "Could you pass me the salt and the pepper, please?",
    "The weather has been lovely this week, warm and dry every afternoon.",
    "I told your brother we would be there by dinner time.",
    "Have you seen where I put my reading glasses this morning?",
    "The news tonight is all about the storm moving up the coast.",
    "She said the shop around the corner closes early on Sundays.",
    "Turn the music down a little, the baby is finally asleep.",
    "We still need milk, bread, some apples and a bag of rice.",
)


def features(x: np.ndarray, rate: int) -> dict[str, float]:
    import parselmouth

    snd = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate)
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    times = pitch.xs()
    voiced = f0 > 0
    st = 12 * np.log2(f0[voiced] / 100.0)
    formant = snd.to_formant_burg(time_step=0.01, max_number_of_formants=5, maximum_formant=5500)
    f1 = np.array([formant.get_value_at_time(1, t) for t in times[voiced]])
    f2 = np.array([formant.get_value_at_time(2, t) for t in times[voiced]])
    # spectral centroid of 25 ms voiced frames
    win = int(0.025 * rate)
    cents = []
    freqs = np.fft.rfftfreq(win, 1 / rate)
    for t in times[voiced]:
        a = int(t * rate) - win // 2
        if a < 0 or a + win > x.size:
            continue
        spec = np.abs(np.fft.rfft(x[a : a + win] * np.hanning(win)))
        if spec.sum() > 0:
            cents.append(float((freqs * spec).sum() / spec.sum()))
    return {
        "f0_median_hz": float(np.median(f0[voiced])),
        "f0_spread_st": float(np.std(st)),
        "f1_median_hz": float(np.nanmedian(f1)),
        "f2_median_hz": float(np.nanmedian(f2)),
        "centroid_hz": float(np.median(cents)),
    }


def run(_options: argparse.Namespace | None = None) -> dict[str, Any]:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from duplex.scenarios import effects
    from duplex.speech import tts, voices
    from duplex.speech.asr import transcribe
    from duplex.speech.wer import word_errors

    def say(voice: str, text: str) -> tuple[np.ndarray, int]:
        if voice in voices.TALKERS:
            return voices.synthesize(text, voice)
        return tts.synthesize(text, voice=voice)

    def score(x: np.ndarray, rate: int, text: str) -> tuple[int, int]:
        from duplex.audio import resample

        y = resample(x, rate, 16000)
        y = y / max(1e-9, float(np.max(np.abs(y)))) * 0.5  # Whisper hears levels the same
        return word_errors(text, transcribe(y, 16000).text)

    from duplex.speech.voices import _praat

    _praat()  # a clear error now, not a traceback mid-table

    out: dict[str, Any] = {}
    names = [*tts.VOICES.names(), *voices.TALKERS.names()]
    for name in names:
        print(f"voice {name}", file=sys.stderr)
        clips = [say(name, s) for s in SENTENCES]
        rate = clips[0][1]
        joined = np.concatenate([c for c, _ in clips])
        row: dict[str, Any] = features(joined, rate)
        edits = [score(c, rate, s) for (c, _), s in zip(clips, SENTENCES, strict=True)]
        row["wer"] = sum(e for e, _ in edits) / sum(n for _, n in edits)
        if name in voices.TALKERS:
            wet = [
                score(effects.apply(c, rate, "background"), rate, s)
                for (c, _), s in zip(clips, SENTENCES, strict=True)
            ]
            row["wer_background"] = sum(e for e, _ in wet) / sum(n for _, n in wet)
        row["user_voice"] = name in tts.VOICES
        out[name] = row
    users = [v for v in out.values() if v["user_voice"]]
    for row in out.values():
        if row["user_voice"]:
            continue
        row["nearest_f0_st"] = min(
            abs(12 * np.log2(row["f0_median_hz"] / u["f0_median_hz"])) for u in users
        )
        row["nearest_f2_pct"] = min(
            abs(row["f2_median_hz"] / u["f2_median_hz"] - 1) * 100 for u in users
        )
    return {"voices": out, "load_average": load_average()}


def format_table(result: dict[str, Any]) -> str:
    head = (
        f"{'voice':<9}{'F0 Hz':>7}{'F0 sd st':>9}{'F1 Hz':>7}{'F2 Hz':>7}{'centr Hz':>9}"
        f"{'WER':>6}{'WER bg':>7}{'dF0 st':>7}{'dF2 %':>7}"
    )
    lines = [head]
    for name, r in result["voices"].items():
        bg = f"{r['wer_background']:.3f}" if "wer_background" in r else "-"
        d0 = f"{r['nearest_f0_st']:.1f}" if "nearest_f0_st" in r else "-"
        d2 = f"{r['nearest_f2_pct']:.0f}" if "nearest_f2_pct" in r else "-"
        lines.append(
            f"{name:<9}{r['f0_median_hz']:>7.0f}{r['f0_spread_st']:>9.2f}{r['f1_median_hz']:>7.0f}"
            f"{r['f2_median_hz']:>7.0f}{r['centroid_hz']:>9.0f}{r['wer']:>6.3f}{bg:>7}"
            f"{d0:>7}{d2:>7}"
        )
    lines.append(f"load average {result['load_average']}")
    return "\n".join(lines)


BENCH = Benchmark(
    "voices",
    "other talkers vs the user's voices: F0, formants, centroid, Whisper WER dry and in the room",
    lambda _parser: None,
    run,
    format_table,
)
