"""Full-Duplex-Bench v1.5 sample folders for the ``overlap`` task, in and out.

A v1.5 sample folder holds both runs of a pair::

    SAMPLE/
      input.wav, output.wav             the overlapped run (the overlap is in input.wav)
      clean_input.wav, clean_output.wav the clean run (the same turn, no overlap)
      metadata.json                     {"timestamps": [start, end] of the overlap,
                                         "context_text": the user's turn,
                                         "current_turn_text": what the overlap says}
      output.json, clean_output.json    ASR words of each output (the anchor's asr.py)
      input.json, clean_input.json      ASR words of each input (read by its behaviour judge)

The anchor's ``get_timing.py`` reads ``input.wav`` and ``output.wav`` only, its behaviour judge
the four word files, its before/after prosody ``output.wav``, ``output.json``, ``metadata.json``
and the ``clean_`` outputs. The ``clean_`` files are the second item of the pair here
(``NAME.clean``): reading gives both items the overlap of ``metadata.json`` (the clean one marked
``clean``: nothing overlaps there, the span says where it would have), and writing puts each run
under its own names (the harness adds the ``clean_`` prefix; see :mod:`duplex.report.fdb`).

``metadata.json`` names no subset. The expected behaviour and the kind of talker come from the
task folder's name when it is one of the anchor's subsets (``user_interruption``: respond;
``user_backchannel``, ``talking_to_other``, ``background_speech``: resume), and from our own
fields in the file when we wrote it (``expect``, ``talker``, ``effect``, ``level_db``,
``voice``, ``trigger``: the anchor reads only the three above).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from duplex.annotations import Annotations, Cue, Overlap, Trigger
from duplex.errors import ScenarioError
from duplex.metrics import fdbio
from duplex.simulator.recording import Recording
from duplex.speech.asr import Transcript, Word

#: The cue name and suite-file field of an overlap.
CUE = "overlap"
METADATA = "metadata.json"
INPUT_WORDS = "input.json"


class Subset(NamedTuple):
    """What a task folder's name says about its items."""

    talker: str
    expect: str


#: The anchor's v1.5 subsets (its folder names) and what a good model does in each.
SUBSETS = {
    "user_interruption": Subset("user", "respond"),
    "user_backchannel": Subset("user", "resume"),
    "talking_to_other": Subset("other", "resume"),
    "background_speech": Subset("background", "resume"),
}


def subset(root: Path) -> Subset | None:
    """The subset a task folder's name names (``.../talking_to_other``), or None."""
    name = root.name.lower()
    for key, value in SUBSETS.items():
        if key in name:
            return value
    return None


def _optional(d: dict[str, Any], key: str, kind: Any) -> Any:
    """``d[key]`` when it is a ``kind`` (a bool is not a number here), else None."""
    value = d.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def read_fdb(folder: Path, context: Any) -> Annotations:
    """``metadata.json`` as the overlapped run's annotations (the overlap as a fixed cue)."""
    path = folder / METADATA
    d = fdbio.load_json(path)
    if not isinstance(d, dict):
        raise ScenarioError(f"{path}: expected an object with timestamps, context_text, ...")
    start, end = fdbio.span(d.get("timestamps"), path, "timestamps")
    said = fdbio.text(d, "context_text", path, "context_text")
    text = fdbio.text(d, "current_turn_text", path, "current_turn_text")
    named: Subset | None = context if isinstance(context, Subset) else None
    trigger: Trigger = d["trigger"] if d.get("trigger") in ("model_onset", "fallback") else "fixed"
    level = _optional(d, "level_db", int | float)
    overlap = Overlap(
        text=text,
        context=said,
        talker=_optional(d, "talker", str) or (named.talker if named else "user"),
        voice=_optional(d, "voice", str),
        effect=_optional(d, "effect", str) or "none",
        level_db=0.0 if level is None else float(level),
        expect=_optional(d, "expect", str) or (named.expect if named else None),
        speech_duration=end - start,
        duration=end - start,
    )
    return Annotations(
        speech=(), overlap=overlap, cues=(Cue(CUE, text, start, end, trigger),), source="fdb"
    )


def clean_run(annotations: Annotations) -> Annotations:
    """The clean run's annotations from the overlapped run's: the same span, marked clean."""
    if annotations.overlap is None:
        return annotations
    return replace(annotations, overlap=replace(annotations.overlap, variant="clean"))


def _words(words: Sequence[Word]) -> dict[str, Any]:
    chunks = [{"text": w.text, "timestamp": [fdbio.t(w.start), fdbio.t(w.end)]} for w in words]
    return {"text": " ".join(w.text for w in words), "chunks": chunks}


def user_words(recording: Recording) -> Transcript:
    """Our ASR of the user channel (the anchor's asr.py transcribes ``input.wav`` too)."""
    from duplex.speech.asr import transcribe

    return transcribe(recording.user, recording.sample_rate)


def write_fdb(
    dest: Path, recording: Recording, annotations: Annotations, transcript: Transcript
) -> Sequence[Word]:
    """This run's share of the sample folder: ``metadata.json`` (overlapped run) and the input's
    words (``input.json`` or ``clean_input.json``); returns every output word for
    ``output.json``/``clean_output.json`` (the anchor transcribes the whole v1.5 output)."""
    ann = recording.annotations if recording.annotations is not None else annotations
    planned, cue = ann.overlap, ann.cue(CUE)
    if planned is None or cue is None:
        raise ScenarioError(f"{dest}: the session has no resolved overlap to export")
    prefix = "clean_" if planned.clean else ""
    fdbio.write_json(dest / (prefix + INPUT_WORDS), _words(user_words(recording).words))
    if not planned.clean:
        end = cue.start + (planned.speech_duration or cue.end - cue.start)
        doc = {
            "timestamps": [fdbio.t(cue.start), fdbio.t(end)],
            "context_text": planned.context or ann.text,
            "current_turn_text": cue.text or planned.text,
            # ours; the anchor reads only the three fields above
            "expect": planned.expect,
            "talker": planned.talker,
            "voice": planned.voice,
            "effect": planned.effect,
            "level_db": planned.level_db,
            "trigger": cue.trigger,
        }
        fdbio.write_json(dest / METADATA, doc)
    return list(transcript.words)
