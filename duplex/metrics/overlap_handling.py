"""Task "overlap" (Full-Duplex-Bench v1.5): speech overlaps the model's answer; what does it do?

Suites ``user_backchannel``, ``talking_to_other``, ``background_speech`` (expected: resume, keep
the floor) and ``overlap_interruption`` (expected: respond). Every item runs twice, ``<id>.clean``
(the overlap placed silent) and ``<id>``; each run is scored on its own here, against the overlap
span the session resolved (the placed cue ``overlap``, :class:`duplex.annotations.Cue`) - in the
clean run the span where the overlap *would* have been, so the clean figures are the reference
for the overlapped ones. What needs both runs of a pair (behaviour labels, the rate of the
expected behaviour, prosody shifts with paired tests) is done over the run's rows
(:mod:`duplex.report.overlap_pairs`), with the labeller of :mod:`duplex.judges.overlap`.

Per item (numbers; ``clean_`` prefixes the clean run's, so a summary keeps the two apart):

- ``stop_latency_s`` / ``response_latency_s``: sample-accurate (:func:`duplex.metrics.overlap.
  timing`); ``stop_latency_fdb_s`` / ``response_latency_fdb_s`` (overlapped runs only): the
  anchor's ``get_timing.py`` on the files our export writes (:func:`duplex.metrics.overlap.
  fdb_timing`), its intervals in the details as ``fdb_latency_intervals``;
- ``responded``: 1 if a new model utterance starts within 1.5 s of the end of the overlap;
- ``talking_at_overlap``: 1 if the model was speaking when the overlap started (if not, the
  item did not test overlap handling: the model had finished, or never started);
- prosody after the overlap start (to the end of the recording) and before it (from the end of
  the context): ``wpm_after``, ``pitch_mean_after_st``, ``pitch_sd_after_st``,
  ``intensity_after_db`` and the same ``_before`` (:mod:`duplex.metrics.prosody`, Praat);
- ``overlap_start_s``, ``overlap_end_s`` (end of the overlap's speech), ``fallback``,
  ``model_speech_s``.

Figures the pair step adds to the summary (listed here for their direction and column):
``expected_behaviour`` (the label is the suite's expected one) and ``label_<name>`` (the share
of each label), over pairs.

Details (strings): ``variant``, ``expect``, ``talker``, ``effect``, ``context``,
``overlap_text`` and ``words`` (the model's words with times, JSON ``[[start, end, text], ...]``)
for the behaviour judge; ``prosody`` says why the prosody figures are missing when Praat (the
optional extra ``praat``, GPL) is not installed.
"""

from __future__ import annotations

import json
import threading
import weakref

from duplex.annotations import Annotations, Cue, Overlap
from duplex.errors import BackendError
from duplex.metrics import fdbio
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.overlap import FdbTiming, fdb_timing, timing
from duplex.metrics.overlap_fdb import CUE, METADATA, clean_run, read_fdb, subset, write_fdb
from duplex.metrics.prosody import EMPTY, Prosody, features, praat_missing
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.simulator.recording import Recording
from duplex.speech.fdb_vad import timing_segments
from duplex.timeline import Span

#: Prosody features compared between the runs: (Prosody field, metric key stem, unit suffix).
PROSODY_FIELDS = (
    ("wpm", "wpm", ""),
    ("pitch_mean_st", "pitch_mean", "_st"),
    ("pitch_sd_st", "pitch_sd", "_st"),
    ("intensity_db", "intensity", "_db"),
)
#: The per-pair labels (judges/overlap.py holds the labeller; the names are the task's figures).
LABELS = ("respond", "resume", "uncertain", "unknown")


def resolved(recording: Recording, annotations: Annotations) -> tuple[Overlap, Cue] | None:
    """``(the planned overlap, its placed cue)`` as the session resolved them, or None."""
    ann = recording.annotations if recording.annotations is not None else annotations
    cue = ann.cue(CUE)
    if ann.overlap is None or cue is None:
        return None
    return ann.overlap, cue


def overlap_span(planned: Overlap, cue: Cue) -> Span:
    """Where the overlap's *speech* is: from the cue start, for its speech duration."""
    length = planned.speech_duration if planned.speech_duration is not None else cue.end - cue.start
    return Span(cue.start, cue.start + length)


def prosody_figures(p: Prosody, where: str) -> dict[str, Value]:
    return {f"{stem}_{where}{unit}": getattr(p, name) for name, stem, unit in PROSODY_FIELDS}


def _prosody_around(
    recording: Recording, analysis: OutputAnalysis, armed_at: float, start: float
) -> tuple[Prosody, Prosody]:
    """Prosody from the end of the context to the overlap start, and from there to the end;
    both empty without Praat (:func:`details` says why)."""
    rate, x, words = recording.sample_rate, recording.model, analysis.transcript.words
    try:
        return (
            features(x, rate, Span(armed_at, start), analysis.activity, words),
            features(x, rate, Span(start, x.size / rate), analysis.activity, words),
        )
    except BackendError:
        return EMPTY, EMPTY


#: score and details both need the anchor's timing of a recording: computed once (two Silero
#: passes over both channels), kept while the recording lives.
_fdb_done: weakref.WeakKeyDictionary[Recording, FdbTiming] = weakref.WeakKeyDictionary()
_fdb_lock = threading.Lock()


def fdb_figures(recording: Recording, span: Span) -> FdbTiming:
    """The anchor's v1.5 timing of this run's files (as exported, or as imported)."""
    with _fdb_lock:
        done = _fdb_done.get(recording)
    if done is not None and done.span == span:
        return done
    user, user_rate = fdbio.fdb_input(recording)
    model, model_rate = fdbio.fdb_output(recording)
    result = fdb_timing(timing_segments(user, user_rate), timing_segments(model, model_rate), span)
    with _fdb_lock:
        _fdb_done[recording] = result
    return result


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    out: dict[str, Value] = {"model_speech_s": round(analysis.speech_seconds, 4)}
    found = resolved(recording, annotations)
    if found is None:
        return out
    planned, cue = found
    span = overlap_span(planned, cue)
    ours = timing(analysis.activity, span)
    armed = planned.armed_at if planned.armed_at is not None else 0.0
    before, after = _prosody_around(recording, analysis, armed, span.start)
    figures: dict[str, Value] = {
        "stop_latency_s": _r(ours.stop_latency),
        "response_latency_s": _r(ours.response_latency),
        "responded": None if ours.responded is None else int(ours.responded),
        "talking_at_overlap": int(ours.talking_at_start),
        **prosody_figures(after, "after"),
        **prosody_figures(before, "before"),
    }
    if not planned.clean:
        # The anchor times only the overlapped run (input.wav + output.wav); its figures are
        # its own, unrounded.
        fdb = fdb_figures(recording, span)
        figures["stop_latency_fdb_s"] = fdb.stop_latency
        figures["response_latency_fdb_s"] = fdb.response_latency
    prefix = "clean_" if planned.clean else ""
    out.update({prefix + k: v for k, v in figures.items()})
    out.update(
        {
            "clean": int(planned.clean),
            "overlap_start_s": span.start,
            "overlap_end_s": round(span.end, 6),
            "fallback": {"fallback": 1, "model_onset": 0}.get(cue.trigger),
        }
    )
    return out


def details(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, str | None]:
    found = resolved(recording, annotations)
    if found is None:
        return {"variant": None}
    planned, cue = found
    words = [[round(w.start, 3), round(w.end, 3), w.text] for w in analysis.transcript.words]
    intervals = None
    if not planned.clean:
        intervals = json.dumps(fdb_figures(recording, overlap_span(planned, cue)).intervals)
    return {
        "prosody": praat_missing(),
        "variant": planned.variant,
        "expect": planned.expect,
        "talker": planned.talker,
        "effect": planned.effect,
        "context": planned.context or None,
        "overlap_text": cue.text or planned.text,
        "words": json.dumps(words, ensure_ascii=False),
        "fdb_latency_intervals": intervals,
    }


def _metrics() -> tuple[Metric, ...]:
    labels = tuple(
        Metric(
            f"label_{name}",
            f"pairs labelled {name} (behaviour judge)",
            fdb=True,
            column=f"v1.5 {name[:4]}" if name in ("respond", "resume") else None,
        )
        for name in LABELS
    )
    return (
        Metric(
            "expected_behaviour",
            "pairs with the expected behaviour (judge; resume, or respond to interruptions)",
            "higher",
            headline=True,
            column="ovl expected",
        ),
        *labels,
        Metric(
            "stop_latency_fdb_s", "stop latency s (FDB v1.5 timing)", fdb=True, column="v1.5 stop s"
        ),
        Metric(
            "response_latency_fdb_s",
            "response latency s (FDB v1.5 timing)",
            "lower",
            fdb=True,
            column="v1.5 resp s",
        ),
        Metric("stop_latency_s", "stop latency s (sample-accurate)", column="ovl stop s"),
        Metric("response_latency_s", "response latency s (sample-accurate)", "lower"),
        Metric("responded", "new utterance within 1.5 s of the overlap's end"),
        Metric("talking_at_overlap", "model talking when the overlap started"),
        Metric("clean_stop_latency_s", "clean run: talk after the overlap point s"),
        Metric("clean_response_latency_s", "clean run: response latency s"),
        Metric("overlap_start_s", "overlap start s"),
        Metric("overlap_end_s", "overlap speech end s"),
        Metric("fallback", "overlap at its fallback time"),
        Metric("model_speech_s", "model speech s"),
    )


TASK = Task(
    name="overlap",
    version="2",
    score=score,
    details=details,
    metrics=_metrics(),
    summary="keeps the floor through backchannels, side talk and background speech; stops and "
    "answers a real interruption (run clean and overlapped)",
    cues=frozenset({CUE}),
    fdb=FdbFormat(METADATA, read_fdb, write_fdb, context=subset, clean=clean_run),
    rank=5,
)
