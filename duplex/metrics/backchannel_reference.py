"""Where a listener would backchannel in a user's monologue: the backchannel task's reference.

Documented in docs/DESIGN.md ("Backchannel reference"). Built from an item's annotations (speech
spans with their text and the pauses between them) when the item is prepared for the task, unless
the item already carries points or a distribution (imported Full-Duplex-Bench data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duplex.annotations import Annotations, BackchannelPoint
from duplex.audio import SESSION_RATE
from duplex.errors import ScenarioError
from duplex.metrics import fdbio
from duplex.metrics.timing_bins import BIN_S, EPSILON, span_distribution

if TYPE_CHECKING:
    from duplex.simulator.recording import Recording
    from duplex.speech.asr import Transcript, Word

#: Pauses shorter than this are not backchannel opportunities (too short to respond in).
BACKCHANNEL_MIN_PAUSE = 0.2
#: The pause factor grows linearly from its floor at BACKCHANNEL_MIN_PAUSE to 1 at this length.
BACKCHANNEL_FULL_PAUSE = 0.8
BACKCHANNEL_PAUSE_FLOOR = 0.5
#: Boundary factor by how the speech before the pause ends.
BOUNDARY_WEIGHTS = {"sentence": 1.0, "clause": 0.6, "none": 0.3}
_SENTENCE_END = (".", "?", "!")
_CLAUSE_END = (",", ";", ":", "-", "\u2013", "\u2014")
_CLOSING = "\"')\u201d\u2019"


def boundary(text: str) -> str:
    """How a stretch of speech ends: "sentence" (. ? !), "clause" (, ; : dash) or "none"."""
    end = text.rstrip().rstrip(_CLOSING)
    if end.endswith(("...", "\u2026")):
        return "clause"  # a trailing-off ellipsis holds the floor: not a finished sentence
    if end.endswith(_SENTENCE_END):
        return "sentence"
    if end.endswith(_CLAUSE_END):
        return "clause"
    return "none"


def backchannel_weight(pause: float, kind: str) -> float:
    """Relative weight of a backchannel opportunity at a pause of ``pause`` s after a ``kind``
    boundary: ``BOUNDARY_WEIGHTS[kind] * pause factor``, the pause factor rising linearly from
    0.5 at 0.2 s to 1.0 at 0.8 s and flat beyond; 0 for pauses under 0.2 s.

    Why: listeners place backchannels in the speaker's pauses at the ends of units (the
    transition points of conversation analysis), more often at complete sentences than at
    clause-internal boundaries, and the more room a pause leaves, the likelier a response fits
    into it. Past about 0.8 s any listener has had time to react, so longer silence adds
    nothing (it starts to invite a full turn instead). Under 0.2 s there is no time to respond
    without overlapping the next words. Weights are relative; the metrics normalise them.
    """
    if pause < BACKCHANNEL_MIN_PAUSE:
        return 0.0
    span = BACKCHANNEL_FULL_PAUSE - BACKCHANNEL_MIN_PAUSE
    rise = min(1.0, (pause - BACKCHANNEL_MIN_PAUSE) / span)
    factor = BACKCHANNEL_PAUSE_FLOOR + (1.0 - BACKCHANNEL_PAUSE_FLOOR) * rise
    return round(BOUNDARY_WEIGHTS[kind] * factor, 6)


def backchannel_reference(annotations: Annotations) -> tuple[BackchannelPoint, ...]:
    """Reference backchannel points of a rendered timeline.

    One point per internal pause of at least 0.2 s, at the pause start (the speech offset), with
    :func:`backchannel_weight` of the pause length and of how the speech before it ends. The end
    of the turn is not a point: the silence after it is a turn transition, not a backchannel
    slot.
    """
    points: list[BackchannelPoint] = []
    for before, gap in zip(annotations.speech, annotations.pauses, strict=False):
        # Each pause follows the speech span of the same index (render layout). The length is
        # taken in whole samples, so a 0.2 s pause is exactly 0.2, not 0.19999999999999996.
        pause = round(gap.duration * SESSION_RATE) / SESSION_RATE
        weight = backchannel_weight(pause, boundary(before.text))
        if weight > 0.0:
            points.append(BackchannelPoint(gap.start, weight))
    return tuple(points)


def ground_truth(annotations: Annotations, duration: float) -> list[float] | None:
    """The distribution the anchor's JSD compares with: an imported one as given, else our
    reference points in the span form at the output's bin count (``duration`` is the output
    file's), 1e-10 added to every bin: the form of the anchor's own ground-truth file, which has
    no exact zero (its interpolation turns zeros into tiny negative values and the distance
    into infinity)."""
    if annotations.backchannel_distribution:
        return list(annotations.backchannel_distribution)
    points = [(p.t, p.weight) for p in annotations.backchannel_points if p.weight > 0]
    if not points:
        return None
    d = span_distribution(points, duration) + EPSILON
    return [float(v) for v in d / d.sum()]


def with_reference(annotations: Annotations) -> Annotations:
    """The annotations with reference points, unless they bring a reference of their own."""
    if annotations.backchannel_points or annotations.backchannel_distribution:
        return annotations
    return replace(annotations, backchannel_points=backchannel_reference(annotations))


# ------------------------------------------------------------- Full-Duplex-Bench sample folders
#: Ours: the reference of one sample (the anchor has no per-sample file).
FDB_FILE = "backchannel.json"
#: The anchor's ground truth: one file per task folder, keyed by sample folder name.
GT_DISTRIBUTION = "icc_gt_distribution.json"


def read_ground_truth(root: Path) -> dict[str, Any] | None:
    """The task folder's ``icc_gt_distribution.json``, if there is one."""
    path = root / GT_DISTRIBUTION
    if not path.exists():
        return None
    doc = fdbio.load_json(path)
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}: expected an object keyed by sample")
    return doc


def _ground_truth(gt: dict[str, Any], name: str, path: Path) -> list[float] | None:
    """The entry of the sample named ``name``, looked up by that name only, as the anchor's
    script does (no arithmetic on the name: another sample's truth is never used)."""
    if name not in gt:
        return None
    return fdbio.numbers(gt[name], path, name)


def read_fdb(folder: Path, gt: Any) -> Annotations:
    """Our ``backchannel.json`` (``{"reference": [{t, weight}], "distribution": [...]}``) and the
    anchor's ground truth for this sample; the anchor's truth wins for its figure."""
    path = folder / FDB_FILE
    points: tuple[BackchannelPoint, ...] = ()
    distribution: list[float] | None = None
    if path.exists():
        d = fdbio.load_json(path)
        if not isinstance(d, dict):
            raise ScenarioError(f"{path}: expected an object")
        raw = d.get("reference", [])
        if not isinstance(raw, list):
            raise ScenarioError(f"{path}: reference must be a list of {{t, weight}}")
        parsed = []
        for i, p in enumerate(raw):
            if not isinstance(p, dict):
                raise ScenarioError(f"{path}: reference[{i}] must be an object {{t, weight}}")
            t = fdbio.number(p.get("t"), path, f"reference[{i}].t")
            w = fdbio.number(p.get("weight", 1.0), path, f"reference[{i}].weight")
            parsed.append(BackchannelPoint(t, w))
        points = tuple(parsed)
        if "distribution" in d:
            distribution = fdbio.numbers(d["distribution"], path, "distribution")
    if gt is not None:
        given = _ground_truth(gt, folder.name, folder.parent / GT_DISTRIBUTION)
        if given is not None:
            distribution = given
    if not points and not distribution:
        raise ScenarioError(
            f"{folder}: no backchannel reference: neither {FDB_FILE} nor an entry "
            f"{folder.name!r} in {folder.parent / GT_DISTRIBUTION}"
        )
    return Annotations(
        speech=(),
        backchannel_points=points,
        backchannel_distribution=None if distribution is None else tuple(distribution),
        source="fdb",
    )


def write_fdb(
    dest: Path, recording: Recording, annotations: Annotations, transcript: Transcript
) -> Sequence[Word]:
    """Our ``backchannel.json``, and the anchor's ground truth (:func:`ground_truth` at the
    exported output's bin count) in ``dest.parent/icc_gt_distribution.json`` under ``dest.name``,
    merged with what is there. The anchor's script reads that file from its working directory:
    run it from the task folder."""
    x, rate = fdbio.fdb_output(recording)
    dist = ground_truth(annotations, x.size / rate)
    if dist is None:
        raise ScenarioError(f"{dest}: the session has no backchannel reference to export")
    points = annotations.backchannel_points
    doc = {
        "reference": [{"t": fdbio.t(p.t), "weight": fdbio.t(p.weight)} for p in points],
        "bin_s": BIN_S,
        "distribution": dist,
    }
    fdbio.write_json(dest / FDB_FILE, doc)
    gt = read_ground_truth(dest.parent) or {}
    gt[dest.name] = dist
    fdbio.write_json(dest.parent / GT_DISTRIBUTION, gt)
    return transcript.words
