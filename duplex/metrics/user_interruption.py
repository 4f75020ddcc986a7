"""Task "user_interruption": the user interrupts the model; a good model stops, then answers the
interruption (TOR higher, latencies lower, the judge's relevance higher).

The interruption actually used is the placed cue named ``"interrupt"`` (``start``/``end`` in
seconds; :class:`duplex.annotations.Cue`) in the annotations *as they happened*
(``Recording.annotations``, falling back to the item's annotations, e.g. for imported
Full-Duplex-Bench folders). Per item:

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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from duplex.annotations import Annotations, Cue, Interrupt, Trigger
from duplex.errors import ScenarioError
from duplex.metrics import fdb_rules, fdbio
from duplex.metrics.analysis import OutputAnalysis
from duplex.metrics.fdb_rules import Stamp
from duplex.metrics.response import response, stop_latency, words_from
from duplex.metrics.stats import number
from duplex.metrics.tasks import FdbFormat, Metric, Task, Value
from duplex.metrics.views import ItemView
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word

#: The suite-file field and cue name of an interruption.
CUE = "interrupt"


def resolved(recording: Recording, annotations: Annotations) -> Annotations:
    """The annotations as they happened when the recording has them, else the item's."""
    return recording.annotations if recording.annotations is not None else annotations


def interruption(annotations: Annotations) -> Cue | None:
    """The first placed ``interrupt`` cue, or None."""
    return annotations.cue(CUE)


def fdb_stamps(analysis: OutputAnalysis, end: float) -> list[Stamp]:
    """The words the anchor's interruption figures read: its ASR step transcribes only the
    output after the end of the interruption, so its ``output.json`` holds those words (on the
    whole file's timeline). Ours keeps the words of its whole-file transcript that start at or
    after the end: a word straddling the end is dropped rather than half-transcribed. Words read
    from an ``output.json`` are taken as listed."""
    if analysis.stamps is not None:
        return list(analysis.stamps)
    return [(w.start, w.end) for w in words_from(analysis.transcript.words, end)]


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
    start, end = cue.start, cue.end
    fdb = fdb_rules.take_turn(fdb_stamps(analysis, end), end)
    reply = response(activity, end)
    stop = stop_latency(activity, start)
    out.update(
        {
            "tor_fdb": fdb.to,
            "latency_fdb_s": fdb.clipped,
            "tor": int(reply is not None),
            "latency_vad_s": None if reply is None else round(reply.start - end, 4),
            "stop_latency_s": None if stop is None else round(stop, 4),
            "interrupt_start_s": start,
            "interrupt_end_s": end,
            "fallback": {"fallback": 1, "model_onset": 0}.get(cue.trigger),
        }
    )
    return out


def details(
    recording: Recording, annotations: Annotations, analysis: OutputAnalysis
) -> dict[str, str | None]:
    ann = resolved(recording, annotations)
    planned = ann.interrupt
    cue = interruption(ann)
    context = (planned.context if planned else "") or ann.text or None
    text = (cue.text if cue else "") or (planned.text if planned else None)
    transcript = None
    if cue is not None:
        transcript = " ".join(w.text for w in words_from(analysis.transcript.words, cue.end))
    return {"context": context, "interrupt_text": text, "response_transcript": transcript}


FDB_FILE = "interrupt.json"
V15_METADATA = "metadata.json"


def read_fdb(folder: Path, context: Any) -> Annotations:
    """``interrupt.json`` (``[{"timestamp": [s, e], "context": str, "interrupt": str}]``), or
    v1.5's ``metadata.json`` (``timestamps``, ``context_text``, ``current_turn_text``)."""
    path = folder / FDB_FILE
    if path.exists() or not (folder / V15_METADATA).exists():
        e = fdbio.entries(fdbio.load_json(path), path)[0]
        start, end = fdbio.span(e.get("timestamp"), path, "[0].timestamp")
        said = fdbio.text(e, "context", path, "[0].context")
        text = fdbio.text(e, "interrupt", path, "[0].interrupt")
        trigger: Trigger = "fixed"
        if e.get("trigger") in ("model_onset", "fallback"):
            trigger = e["trigger"]
    else:
        path = folder / V15_METADATA
        d = fdbio.load_json(path)
        if not isinstance(d, dict):
            raise ScenarioError(f"{path}: expected an object")
        start, end = fdbio.span(d.get("timestamps"), path, "timestamps")
        said = fdbio.text(d, "context_text", path, "context_text")
        text = fdbio.text(d, "current_turn_text", path, "current_turn_text")
        trigger = "fixed"
    return Annotations(
        speech=(),
        interrupt=Interrupt(text=text, context=said),
        cues=(Cue(CUE, text, start, end, trigger),),
        source="fdb",
    )


def write_fdb(
    dest: Path, recording: Recording, annotations: Annotations, transcript: Transcript
) -> Sequence[Word]:
    """The interruption as it happened; ``output.json`` gets only the words from its end on, as
    the anchor's ASR step (which crops there) would produce."""
    ann = resolved(recording, annotations)
    cue = interruption(ann)
    if cue is None:
        raise ScenarioError(f"{dest}: the session has no resolved interruption to export")
    planned = ann.interrupt
    doc = [
        {
            "text": "[INTERRUPT]",
            "timestamp": [fdbio.t(cue.start), fdbio.t(cue.end)],
            "context": (planned.context if planned else "") or ann.text,
            "interrupt": cue.text or (planned.text if planned else ""),
            "trigger": cue.trigger,  # ours; the anchor reads only the fields above
        }
    ]
    fdbio.write_json(dest / FDB_FILE, doc)
    return [w for w in transcript.words if w.start >= cue.end]


def view(row: dict[str, Any], session: dict[str, Any]) -> ItemView | None:
    """The interruption (the context, then what the user cut in with), answered after it ends."""
    details, metrics = row.get("details") or {}, row.get("metrics") or {}
    end = number(metrics.get("interrupt_end_s"))
    if end is None or not details.get("context") or not details.get("interrupt_text"):
        return None
    turn = f"{details['context']}\n(the user cuts in) {details['interrupt_text']}"
    return ItemView(turn, end, str(details.get("response_transcript") or ""))


TASK = Task(
    name="user_interruption",
    view=view,
    version="2",
    score=score,
    details=details,
    metrics=(
        Metric(
            "tor_fdb",
            "TOR (FDB rule, after the interruption)",
            "higher",
            headline=True,
            fdb=True,
            column="int TOR",
        ),
        Metric(
            "judge_score",
            "judge score 0-5 (FDB: items with TO = 1)",
            "higher",
            fdb=True,
            column="judge 0-5",
        ),
        Metric(
            "latency_fdb_s",
            "response latency s (FDB, first word)",
            "lower",
            headline=True,
            fdb=True,
            column="int lat s",
        ),
        Metric("tor", "TOR (response)", "higher", headline=True),
        Metric("latency_vad_s", "response latency s (voice onset)", "lower", headline=True),
        Metric("stop_latency_s", "stop latency s", "lower", headline=True, column="stop lat s"),
        Metric("judge_score_strict", "judge score 0-5 (no response counts 0)", "higher"),
        Metric("interrupt_start_s", "interruption start s"),
        Metric("interrupt_end_s", "interruption end s"),
        Metric("fallback", "interruption at its fallback time"),
        Metric("model_speech_s", "model speech s"),
    ),
    summary="stops when interrupted and answers the interruption",
    cues=frozenset({CUE}),
    fdb=FdbFormat(FDB_FILE, read_fdb, write_fdb, also_marked_by=(V15_METADATA,)),
    rank=4,
)
