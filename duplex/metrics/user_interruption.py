"""Task "user_interruption": the user interrupts the model; a good model stops, then answers the
interruption (TOR higher, latencies lower, the judge's relevance higher).

The interruption actually used is the resolved cue ``extra["cues"]`` (name ``"interrupt"``,
``start``/``end`` in seconds) in the annotations *as they happened* (``Recording.annotations``,
falling back to the item's annotations, e.g. for imported Full-Duplex-Bench folders). Per item:

- ``tor_fdb``: the anchor's TO - its take-over rule on the words of the output *after the end of
  the interruption* (the anchor crops the output there before its ASR; we keep the words of our
  whole-file transcript that start at or after the end, so a word straddling the end is dropped
  rather than half-transcribed).
- ``latency_fdb_s``: the anchor's latency - the first of those words' start minus the end of the
  interruption (never negative); None when ``tor_fdb`` is 0.
- ``tor``: ours - 1 if the model has a *response* to the end of the interruption: an utterance
  (gaps < 0.5 s joined) of at least 1 s starting no earlier than 0.5 s before that end
  (:func:`duplex.metrics.response.response`). A model that talks straight through the
  interruption and on has no response (the anchor counts its words after the end as TO = 1).
- ``latency_vad_s``: ours - the response's voice-activity onset minus the end of the
  interruption, sample accurate; None when ``tor`` is 0.
- ``stop_latency_s``: ours - how long the model keeps talking after the interruption *starts*:
  the end of the model's utterance under way at the interruption start, minus that start; 0 if
  the model is silent then; None if the model had not spoken before it (nothing to stop).
  Full-Duplex-Bench v1.5's "stop latency" is the same quantity on its own VAD settings.
- ``interrupt_start_s``, ``interrupt_end_s``: where the interruption was placed.
- ``fallback``: 1 if the interruption came at its fallback time because the model had not spoken,
  0 if it was triggered by the model's speech, None for fixed-time interruptions (imported).
- ``model_speech_s``: seconds of model speech activity.

Without a resolved interruption the event figures are None.

Details (strings, for the LLM judge; :func:`details`): ``context`` (the context turn),
``interrupt_text`` and ``response_transcript`` (the words after the end of the interruption, the
transcript the anchor's judge rates).
"""

from __future__ import annotations

from typing import Any

from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.response import fdb_latency, response, stop_latency, words_from
from duplex.metrics.takeover import fdb_takeover
from duplex.metrics.tasks import Headline, Task, Value
from duplex.scenarios.base import Annotations
from duplex.simulator.recording import Recording

CUE = "interrupt"


def resolved(recording: Recording, annotations: Annotations) -> Annotations:
    """The annotations as they happened when the recording has them, else the item's."""
    return recording.annotations if recording.annotations is not None else annotations


def interruption(annotations: Annotations) -> dict[str, Any] | None:
    """The first resolved ``interrupt`` cue, or None."""
    for cue in annotations.extra.get("cues") or ():
        if isinstance(cue, dict) and cue.get("name") == CUE:
            return cue
    return None


def score(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, Value]:
    cue = interruption(resolved(recording, annotations))
    activity = analysis.activity
    out: dict[str, Value] = {
        "tor_fdb": None,
        "latency_fdb_s": None,
        "tor": None,
        "latency_vad_s": None,
        "stop_latency_s": None,
        "interrupt_start_s": None,
        "interrupt_end_s": None,
        "fallback": None,
        "model_speech_s": round(sum(s.duration for s in activity), 4),
    }
    if cue is None:
        return out
    start, end = float(cue["start"]), float(cue["end"])
    after = words_from(analysis.transcript.words, end)
    tor_fdb = fdb_takeover(after)
    reply = response(activity, end)
    stop = stop_latency(activity, start)
    trigger = cue.get("trigger")
    out.update(
        {
            "tor_fdb": tor_fdb,
            "latency_fdb_s": round(fdb_latency(after, end), 4) if tor_fdb else None,
            "tor": int(reply is not None),
            "latency_vad_s": None if reply is None else round(reply.start - end, 4),
            "stop_latency_s": None if stop is None else round(stop, 4),
            "interrupt_start_s": start,
            "interrupt_end_s": end,
            "fallback": {"fallback": 1, "model_onset": 0}.get(str(trigger)),
        }
    )
    return out


def details(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, str | None]:
    ann = resolved(recording, annotations)
    static = ann.extra.get("interrupt") or {}
    cue = interruption(ann)
    context = static.get("context") or ann.text or None
    text = (cue or {}).get("text") or static.get("text")
    transcript = None
    if cue is not None:
        transcript = " ".join(w.text for w in words_from(analysis.transcript.words, cue["end"]))
    return {"context": context, "interrupt_text": text, "response_transcript": transcript}


TASK = Task(
    name="user_interruption",
    version="1",
    score=score,
    details=details,
    headline=[
        Headline("tor_fdb", "TOR (FDB rule, after the interruption)", "higher"),
        Headline("latency_fdb_s", "response latency s (FDB, first word)", "lower"),
        Headline("tor", "TOR (response)", "higher"),
        Headline("latency_vad_s", "response latency s (voice onset)", "lower"),
        Headline("stop_latency_s", "stop latency s", "lower"),
    ],
    summary="stops when interrupted and answers the interruption",
)
