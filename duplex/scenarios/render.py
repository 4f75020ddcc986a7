"""Render an item spec to user audio on the session clock, with sample-exact annotations.

Layout of one item (all silence is digital zero)::

    lead_in | speech 0 | pause 0 | speech 1 | ... | speech n | tail

Each ``say`` is synthesised, trimmed to its voiced edges and resampled to the session rate; each
``pause`` is exactly ``round(seconds * SESSION_RATE)`` samples. Annotation times are those sample
indices divided by the rate, so ``round(t * SESSION_RATE)`` gives the sample back exactly, and
every pause span is precisely the gap between the speech spans around it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from duplex import audio
from duplex.audio import SESSION_RATE, Placed, Samples
from duplex.errors import ScenarioError
from duplex.scenarios import cache
from duplex.scenarios.base import Annotations, ScenarioItem, Span, SpeechSpan
from duplex.scenarios.spec import Defaults, ItemSpec, Pause, SuiteSpec
from duplex.speech import tts

#: Bump when the layout or processing changes, so that old cache entries stop matching.
RENDERER_VERSION = "1"


def spec_hash(item: ItemSpec, defaults: Defaults, tts_provenance: dict[str, Any]) -> str:
    """sha256 of everything that determines the rendered audio and annotations."""
    canonical = {
        "item": item.to_json(),
        "defaults": {"lead_in": defaults.lead_in, "tail": defaults.tail},
        "renderer": RENDERER_VERSION,
        "session_rate": SESSION_RATE,
        "tts": tts_provenance,
    }
    # Voice, rate and seed are resolved into the item already; the other defaults only matter
    # through lead_in and tail, so changing an unused default does not invalidate the cache.
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _speech(item: ItemSpec, index: int, text: str, where: str) -> Samples:
    x, rate = tts.synthesize(text, voice=item.voice, length_scale=item.rate, seed=item.seed)
    voiced = audio.trim_silence(x, rate)
    if voiced.size == 0:
        raise ScenarioError(f"{where}: script[{index}].say: the TTS produced no audible speech")
    return audio.resample(voiced, rate, SESSION_RATE)


def layout(item: ItemSpec, defaults: Defaults, where: str) -> tuple[Samples, Annotations]:
    """Synthesise and place every step; returns the item audio and its annotations."""
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
        x = _speech(item, index, step.text, where)
        if gap_start is not None:
            pauses.append(Span(gap_start / SESSION_RATE, cursor / SESSION_RATE))
            gap_start = None
        placed.append(Placed(x, cursor))
        speech.append(
            SpeechSpan(cursor / SESSION_RATE, (cursor + x.size) / SESSION_RATE, step.text)
        )
        cursor += x.size
    total = cursor + audio.seconds_to_samples(defaults.tail, SESSION_RATE)
    return audio.mix(placed, length=total), Annotations(speech=tuple(speech), pauses=tuple(pauses))


def render_item(suite: SuiteSpec, item: ItemSpec, *, use_cache: bool = True) -> ScenarioItem:
    """Render one item, from the cache when a valid entry exists."""
    provenance_tts = tts.tts_provenance()
    key = spec_hash(item, suite.defaults, provenance_tts)
    entry = cache.load(key) if use_cache else None
    if entry is None:
        where = f"{suite.path.name}: item {item.id!r}"
        samples, annotations = layout(item, suite.defaults, where)
        provenance = {
            "voice": item.voice,
            "rate": item.rate,
            "seed": item.seed,
            "lead_in": suite.defaults.lead_in,
            "tail": suite.defaults.tail,
            "renderer_version": RENDERER_VERSION,
            "tts": provenance_tts,
        }
        entry = cache.Entry(samples, SESSION_RATE, annotations, provenance)
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
    )
