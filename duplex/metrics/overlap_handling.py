"""Task "overlap" (Full-Duplex-Bench v1.5): speech overlaps the model's answer; what does it do?

Suites ``user_backchannel``, ``talking_to_other``, ``background_speech`` (expected: resume, keep
the floor) and ``overlap_interruption`` (expected: respond). Every item runs twice, ``<id>.clean``
(overlap silent) and ``<id>``; each run is scored on its own here, against the overlap span the
session resolved (``extra["cues"]``, name ``"overlap"``) - in the clean run the span where the
overlap *would* have been, so the clean figures are the reference for the overlapped ones.
What needs both runs of a pair (behaviour labels, prosody shifts with paired tests, the rate of
the expected behaviour) is done over the run folder by :mod:`duplex.judges.overlap`.

Per item (numbers; ``clean_`` prefixes the clean run's, so a summary keeps the two apart):

- ``stop_latency_s`` / ``response_latency_s``: sample-accurate (:func:`duplex.metrics.overlap.
  timing`); ``stop_latency_fdb_s`` / ``response_latency_fdb_s``: FDB v1.5-compatible (chunk-level
  Silero intervals of both channels, merge gaps 0.5 s model / 0.6 s user);
- ``responded``: 1 if a new model utterance starts within 1.5 s of the end of the overlap;
- ``talking_at_overlap``: 1 if the model was speaking when the overlap started (if not, the
  item did not test overlap handling: the model had finished, or never started);
- prosody after the overlap start (to the end of the recording) and before it (from the end of
  the context): ``wpm_after``, ``pitch_mean_after_st``, ``pitch_sd_after_st``,
  ``intensity_after_db`` and the same ``_before`` (:mod:`duplex.metrics.prosody`);
- ``overlap_start_s``, ``overlap_end_s`` (end of the overlap's speech), ``fallback``,
  ``model_speech_s``.

Details (strings): ``variant``, ``expect``, ``talker``, ``effect``, ``context``,
``overlap_text`` and ``words`` (the model's words with times, JSON ``[[start, end, text], ...]``)
for the behaviour judge; ``prosody`` says why the prosody figures are missing when Praat (the
optional extra ``praat``, GPL) is not installed.
"""

from __future__ import annotations

import json
from typing import Any

from duplex.audio import Samples
from duplex.errors import BackendError
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.overlap import fdb_timing, timing
from duplex.metrics.prosody import EMPTY, Prosody, features
from duplex.metrics.tasks import Headline, Task, Value
from duplex.scenarios.base import Annotations, Span
from duplex.simulator.recording import Recording

CUE = "overlap"
_PROSODY_KEYS = ("wpm", "pitch_mean_st", "pitch_sd_st", "intensity_db")


def resolved_overlap(annotations: Annotations) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(static overlap annotation, resolved cue)``, or None if either is missing."""
    static = annotations.extra.get("overlap")
    for cue in annotations.extra.get("cues") or ():
        if isinstance(cue, dict) and cue.get("name") == CUE and isinstance(static, dict):
            return static, cue
    return None


def _annotations(recording: Recording, annotations: Annotations) -> Annotations:
    return recording.annotations if recording.annotations is not None else annotations


def _prosody(p: Prosody, where: str) -> dict[str, Value]:
    names = {"wpm": "wpm", "pitch_mean_st": "pitch_mean", "pitch_sd_st": "pitch_sd"}
    out: dict[str, Value] = {}
    for key in _PROSODY_KEYS:
        name = names.get(key, "intensity")
        unit = {"pitch_mean_st": "_st", "pitch_sd_st": "_st", "intensity_db": "_db"}.get(key, "")
        out[f"{name}_{where}{unit}"] = getattr(p, key)
    return out


def fdb_vad(x: Samples, rate: int) -> list[Span]:
    """Chunk-level Silero intervals with Silero's own segmentation defaults (250 ms minimum
    speech, 100 ms minimum silence, 30 ms padding), as Full-Duplex-Bench runs it before merging."""
    from duplex.speech.vad import speech_segments

    return speech_segments(x, rate, min_speech=0.25, min_silence=0.1, pad=0.03, refine=False)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _prosody_around(
    recording: Recording, analysis: OutputAnalysis, armed_at: float, start: float
) -> tuple[Prosody, Prosody]:
    """Prosody from the end of the context to the overlap start, and from there to the end.

    Without Praat (the optional extra ``praat``) both are empty; :func:`details` says why.
    """
    rate, x, words = recording.sample_rate, recording.model, analysis.transcript.words
    try:
        return (
            features(x, rate, Span(armed_at, start), analysis.activity, words),
            features(x, rate, Span(start, x.size / rate), analysis.activity, words),
        )
    except BackendError:
        return EMPTY, EMPTY


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    found = resolved_overlap(_annotations(recording, annotations))
    activity = analysis.activity
    out: dict[str, Value] = {"model_speech_s": round(sum(s.duration for s in activity), 4)}
    if found is None:
        return out
    static, cue = found
    clean = static.get("variant") == "clean"
    start = float(cue["start"])
    span = Span(start, start + float(static["speech_duration"]))
    ours = timing(activity, span)
    rate = recording.sample_rate
    # In the clean run nothing overlaps: the annotated span stands in for the user's VAD.
    user_vad = [span] if clean else fdb_vad(recording.user, rate)
    fdb = fdb_timing(fdb_vad(recording.model, rate), user_vad, span)
    words = analysis.transcript.words
    end = recording.model.size / rate
    before = features(
        recording.model, rate, Span(float(static["armed_at"]), start), activity, words
    )
    after = features(recording.model, rate, Span(start, end), activity, words)
    figures: dict[str, Value] = {
        "stop_latency_s": _round(ours.stop_latency),
        "response_latency_s": _round(ours.response_latency),
        "stop_latency_fdb_s": None if fdb is None else _round(fdb.stop_latency),
        "response_latency_fdb_s": None if fdb is None else _round(fdb.response_latency),
        "responded": None if ours.responded is None else int(ours.responded),
        "talking_at_overlap": int(ours.talking_at_start),
        **_prosody(after, "after"),
        **_prosody(before, "before"),
    }
    prefix = "clean_" if clean else ""
    out.update({prefix + k: v for k, v in figures.items()})
    out.update(
        {
            "clean": int(clean),
            "overlap_start_s": span.start,
            "overlap_end_s": round(span.end, 6),
            "fallback": {"fallback": 1, "model_onset": 0}.get(str(cue.get("trigger"))),
        }
    )
    return out


def details(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, str | None]:
    found = resolved_overlap(_annotations(recording, annotations))
    if found is None:
        return {"variant": None}
    static, _cue = found
    words = [[round(w.start, 3), round(w.end, 3), w.text] for w in analysis.transcript.words]
    try:
        import parselmouth  # noqa: F401

        prosody = None
    except ImportError:
        prosody = "not measured: praat-parselmouth is not installed (extra 'praat')"
    return {
        "prosody": prosody,
        "variant": str(static.get("variant")),
        "expect": str(static.get("expect")),
        "talker": str(static.get("talker")),
        "effect": str(static.get("effect")),
        "context": str(static.get("context")),
        "overlap_text": str(static.get("text")),
        "words": json.dumps(words, ensure_ascii=False),
    }


TASK = Task(
    name="overlap",
    version="1",
    score=score,
    details=details,
    headline=[
        Headline("stop_latency_s", "stop latency s (overlapped run)", "lower"),
        Headline("response_latency_s", "response latency s (overlapped run)", "lower"),
        Headline("responded", "responded within 1.5 s (overlapped run)", "higher"),
        Headline("clean_stop_latency_s", "talk after the overlap point s (clean run)", "higher"),
    ],
    summary="keeps the floor through backchannels, side talk and background speech; stops and "
    "answers a real interruption (run clean and overlapped)",
)
