"""Render an item spec to user audio on the session clock, with sample-exact annotations.

Layout of one item (all silence is digital zero)::

    lead_in | speech 0 | pause 0 | speech 1 | ... | speech n | tail

Each ``say`` is synthesised, trimmed to its voiced edges and resampled to the session rate; each
``pause`` is exactly ``round(seconds * SESSION_RATE)`` samples. Annotation times are those sample
indices divided by the rate, so ``round(t * SESSION_RATE)`` gives the sample back exactly, and
every pause span is precisely the gap between the speech spans around it.

Items with an ``interrupt`` get one :class:`ReactiveCue`: its audio (the interrupting utterance,
same voice and rate, trimmed) is not mixed into the item audio; the
simulator places it while streaming. The cue is armed at the end of the context turn
(``armed_at`` = ``turn_end``) and falls back to ``fallback_at`` = ``turn_end + fallback_after``.
The latest it can start is just under ``fallback_at + after_model_onset`` (the model starts
speaking just before the fallback), so the item audio runs to
``fallback_at + after_model_onset + cue duration + tail``: whatever the model does, at least
``tail`` seconds of silence follow the interruption.

A ``conversation`` item has no script: its user channel is silence of ``max_seconds`` (the
longest the conversation may run) into which the examiner speaks during the session, and its
annotations carry the staged goals. Nothing is synthesised at render time.

Items with an ``overlap`` (task ``overlap``) get one reactive cue named ``"overlap"`` placed by
the same rule and bounds. Its audio is the overlapping utterance in its talker's voice through
its room effect (:mod:`duplex.scenarios.effects`), so it can be longer than the speech by the
effect's echo tail; the speech itself lasts ``speech_duration`` s from the cue start. In the clean
variant (``overlap.clean``) the cue audio is digital silence of the same length: the session
resolves the same reactive start, so the clean run records where the overlap *would* have
started, and the two runs of a pair are compared from the same point.
The annotations carry what the script planned (an :class:`~duplex.annotations.Interrupt`, an
:class:`~duplex.annotations.Overlap`: text, context, talker, voice, effect, level, expected
behaviour, variant and the cue's arming and fallback times); what a task derives from them (the
backchannel task's reference points) is the task's business, done when the item is prepared for
it (:meth:`duplex.metrics.tasks.Task.prepare`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import numpy as np

from duplex import audio
from duplex.annotations import Annotations, Interrupt, Overlap
from duplex.audio import SESSION_RATE, Placed, Samples
from duplex.errors import ScenarioError
from duplex.scenarios import cache
from duplex.scenarios.base import ReactiveCue, ScenarioItem
from duplex.scenarios.spec import Defaults, ItemSpec, OverlapSpec, Pause, SuiteSpec
from duplex.speech import tts
from duplex.timeline import Span, SpeechSpan

#: Bump when the layout or processing changes, so that old cache entries stop matching.
#: 2: reactive cues (interrupt), backchannel reference, task in the hash.
#: 3: typed annotation parts; no task-specific annotations, so no task in the hash.
RENDERER_VERSION = "3"


def spec_hash(item: ItemSpec, defaults: Defaults, tts_provenance: dict[str, Any]) -> str:
    """sha256 of everything that determines the rendered audio, cues and annotations."""
    canonical = {
        "item": item.to_json(),
        "defaults": {"lead_in": defaults.lead_in, "tail": defaults.tail},
        "renderer": RENDERER_VERSION,
        "session_rate": SESSION_RATE,
        "tts": tts_provenance,
    }
    if item.overlap is not None:  # absent key: other items keep their hash
        from duplex.scenarios.effects import EFFECTS_VERSION
        from duplex.speech.voices import voices_provenance

        canonical["overlap_render"] = {"effects": EFFECTS_VERSION, "voices": voices_provenance()}
    # Voice, rate, seed and interrupt timing are resolved into the item already; the other
    # defaults only matter through lead_in and tail, so changing an unused default does not
    # invalidate the cache.
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _speech(item: ItemSpec, text: str, where: str, field: str) -> Samples:
    x, rate = tts.synthesize(text, voice=item.voice, length_scale=item.rate, seed=item.seed)
    voiced = audio.trim_silence(x, rate)
    if voiced.size == 0:
        raise ScenarioError(f"{where}: {field}: the TTS produced no audible speech")
    return audio.resample(voiced, rate, SESSION_RATE)


def _place_script(
    item: ItemSpec, defaults: Defaults, where: str
) -> tuple[list[Placed], Annotations, int]:
    """Synthesise and place the script; returns the placed speech, annotations, end sample."""
    placed: list[Placed] = []
    speech: list[SpeechSpan] = []
    pauses: list[Span] = []
    cursor = audio.seconds_to_samples(defaults.lead_in, SESSION_RATE)
    gap_start: int | None = None
    for index, step in enumerate(item.script):
        if isinstance(step, Pause):
            gap_start = cursor
            cursor += audio.seconds_to_samples(step.seconds, SESSION_RATE)
            continue
        x = _speech(item, step.text, where, f"script[{index}].say")
        if gap_start is not None:
            pauses.append(Span(gap_start / SESSION_RATE, cursor / SESSION_RATE))
            gap_start = None
        placed.append(Placed(x, cursor))
        speech.append(
            SpeechSpan(cursor / SESSION_RATE, (cursor + x.size) / SESSION_RATE, step.text)
        )
        cursor += x.size
    return placed, Annotations(speech=tuple(speech), pauses=tuple(pauses)), cursor


def _overlap_speech(item: ItemSpec, spec: OverlapSpec, where: str) -> tuple[Samples, int]:
    """The overlap as the microphone hears it, and the sample count of its dry speech."""
    from duplex.scenarios import effects

    if spec.talker == "user":
        x, rate = tts.synthesize(
            spec.text, voice=spec.voice, length_scale=item.rate, seed=item.seed
        )
    else:
        from duplex.speech import voices

        x, rate = voices.synthesize(spec.text, spec.voice, length_scale=item.rate)
    voiced = audio.trim_silence(x, rate)
    if voiced.size == 0:
        raise ScenarioError(f"{where}: overlap.say: the TTS produced no audible speech")
    dry = audio.resample(voiced, rate, SESSION_RATE)
    wet = effects.apply(dry, SESSION_RATE, spec.effect, spec.level_db)
    if spec.clean:
        wet = np.zeros_like(wet)
    return wet, dry.size


def _reactive_cue(
    name: str,
    text: str,
    cue_audio: Samples,
    after_model_onset: float,
    fallback_after: float,
    end: int,
) -> tuple[ReactiveCue, int]:
    """A cue armed when the script ends (sample ``end``), and the sample where its audio ends if
    it starts as late as it can: ``after_model_onset`` after a model onset at the fallback."""
    fallback = end + audio.seconds_to_samples(fallback_after, SESSION_RATE)
    latest_start = fallback + audio.seconds_to_samples(after_model_onset, SESSION_RATE)
    cue = ReactiveCue(
        name=name,
        text=text,
        audio=cue_audio,
        after_model_onset=after_model_onset,
        armed_at=end / SESSION_RATE,
        fallback_at=fallback / SESSION_RATE,
    )
    return cue, latest_start + cue_audio.size


def _overlap_cue(
    item: ItemSpec, spec: OverlapSpec, annotations: Annotations, end: int, where: str
) -> tuple[ReactiveCue, Overlap, int]:
    """The overlap cue, what the item plans, and the sample where its latest start ends."""
    cue_audio, speech = _overlap_speech(item, spec, where)
    cue, latest_end = _reactive_cue(
        "overlap", spec.text, cue_audio, spec.after_model_onset, spec.fallback_after, end
    )
    planned = Overlap(
        text=spec.text,
        context=annotations.text,
        talker=spec.talker,
        voice=spec.voice,
        effect=spec.effect,
        level_db=spec.level_db,
        expect=spec.expect,
        variant="clean" if spec.clean else "overlapped",
        after_model_onset=cue.after_model_onset,
        armed_at=cue.armed_at,
        fallback_at=cue.fallback_at,
        speech_duration=speech / SESSION_RATE,
        duration=cue.duration,
    )
    return cue, planned, latest_end


def layout(
    item: ItemSpec, defaults: Defaults, where: str
) -> tuple[Samples, Annotations, tuple[ReactiveCue, ...]]:
    """The item audio, its annotations and its reactive cues."""
    placed, annotations, end = _place_script(item, defaults, where)
    tail = audio.seconds_to_samples(defaults.tail, SESSION_RATE)
    cues: tuple[ReactiveCue, ...] = ()
    total = end + tail
    if item.interrupt is not None:
        spec = item.interrupt
        cue_audio = _speech(item, spec.text, where, "interrupt.say")
        cue, latest_end = _reactive_cue(
            "interrupt", spec.text, cue_audio, spec.after_model_onset, spec.fallback_after, end
        )
        total = latest_end + tail
        cues = (cue,)
        annotations = replace(
            annotations,
            interrupt=Interrupt(
                text=spec.text,
                context=annotations.text,
                after_model_onset=cue.after_model_onset,
                armed_at=cue.armed_at,
                fallback_at=cue.fallback_at,
                duration=cue.duration,
            ),
        )
    if item.overlap is not None:
        overlap_cue, planned, latest_end = _overlap_cue(item, item.overlap, annotations, end, where)
        cues = (overlap_cue,)
        total = latest_end + tail
        annotations = replace(annotations, overlap=planned)
    return audio.mix(placed, length=total), annotations, cues


def _conversation_item(
    suite: SuiteSpec, item: ItemSpec, key: str, tts_: dict[str, Any]
) -> ScenarioItem:
    assert item.conversation is not None
    n = audio.seconds_to_samples(item.conversation.max_seconds, SESSION_RATE)
    return ScenarioItem(
        suite=suite.suite,
        suite_version=suite.version,
        item_id=item.id,
        audio=np.zeros(n, np.float32),
        sample_rate=SESSION_RATE,
        annotations=Annotations(speech=(), conversation=item.conversation),
        spec_hash=key,
        provenance={
            "voice": item.voice,
            "rate": item.rate,
            "seed": item.seed,
            "lead_in": suite.defaults.lead_in,
            "renderer_version": RENDERER_VERSION,
            "tts": tts_,
        },
    )


def render_item(suite: SuiteSpec, item: ItemSpec, *, use_cache: bool = True) -> ScenarioItem:
    """Render one item, from the cache when a valid entry exists."""
    provenance_tts = tts.tts_provenance()
    key = spec_hash(item, suite.defaults, provenance_tts)
    if item.conversation is not None:  # spoken during the session: nothing to render or cache
        return _conversation_item(suite, item, key, provenance_tts)
    entry = cache.load(key) if use_cache else None
    if entry is None:
        where = f"{suite.path.name}: item {item.id!r}"
        samples, annotations, cues = layout(item, suite.defaults, where)
        provenance = {
            "voice": item.voice,
            "rate": item.rate,
            "seed": item.seed,
            "lead_in": suite.defaults.lead_in,
            "tail": suite.defaults.tail,
            "renderer_version": RENDERER_VERSION,
            "tts": provenance_tts,
        }
        entry = cache.Entry(samples, SESSION_RATE, annotations, provenance, cues)
        if use_cache:
            cache.store(key, entry)
    return ScenarioItem(
        suite=suite.suite,
        suite_version=suite.version,
        item_id=item.id,
        audio=entry.audio,
        sample_rate=entry.sample_rate,
        annotations=entry.annotations,
        spec_hash=key,
        provenance=entry.provenance,
        cues=entry.cues,
    )
