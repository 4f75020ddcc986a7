"""Windows of many recordings decoded together give each recording its transcript alone."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from duplex.speech import asr
from duplex.speech.asr import Transcript, transcribe, transcribe_batch, transcribe_many
from duplex.speech.batched import Job, RawWord, decode_parallel
from duplex.speech.vad import speech_segments
from tests.speech.speechdata import RATE, place, say

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Could you tell me what the weather will be like tomorrow in Paris?",
    "Yeah.",
    "I would pick the blue one, it goes with everything you already have.",
)


@cache
def recordings() -> tuple[np.ndarray, ...]:
    """A short reply, a busy 15 s stretch, and 45 s with speech on both sides of a long silence
    (two windows); each differently placed, so no two windows are alike."""
    a, b, c, d = (say(s) for s in SENTENCES)
    short = place([(0.7, c)], 3.0)
    busy = place([(0.4, a), (4.0, b), (8.5, d), (13.0, c)], 15.0)
    long = place([(1.0, b), (5.2, a), (27.0, d), (40.0, a)], 45.0)
    return short, busy, long


def requests() -> list[tuple[np.ndarray, int, None]]:
    return [(x, RATE, None) for x in recordings()]


def test_a_batch_gives_each_recording_its_transcript_alone() -> None:
    alone = [transcribe(x, RATE) for x in recordings()]
    assert all(t.words for t in alone)
    assert any("fox" in w.text.lower() for w in alone[2].words)
    assert transcribe_many(asr._load(), requests()) == alone
    # two one-thread workers, the recordings shared out between them: the same again
    assert transcribe_batch(requests(), workers=2) == alone


def test_words_of_a_long_recording_are_in_order_and_inside_its_speech() -> None:
    x = recordings()[2]
    speech = speech_segments(x, RATE)
    words = transcribe(x, RATE, speech=speech).words
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(any(s.start <= w.start <= w.end <= s.end for s in speech) for w in words)
    # the sentence after the long silence is there (second window) and only once
    assert sum(w.text.lower().strip(".,") == "fox" for w in words) == 2


def test_registry_backend_transcribes_one_or_many() -> None:
    backend = asr.ASR_BACKENDS.get("faster-whisper-tiny.en")
    x = recordings()[0]
    assert backend(x, RATE) == transcribe(x, RATE)
    assert backend.many([(x, RATE, None)], workers=1) == [transcribe(x, RATE)]
    assert backend.many([], workers=2) == []
    assert transcribe_many(asr._load(), [(np.zeros(RATE, np.float32), RATE, [])]) == [
        Transcript("", ())
    ]


class _Echo:
    """Stands in for a BatchDecoder in the sharing-out logic only: one word naming each job."""

    def decode(self, jobs: list[Job]) -> list[list[RawWord]]:
        # A recording's windows must reach one worker, in order.
        for prev, job in itertools.pairwise(jobs):
            assert not (prev.recording == job.recording and prev.start > job.start)
        return [[RawWord(j.start, j.end, f"{j.recording}:{j.start}", 1.0)] for j in jobs]


def test_jobs_are_shared_out_by_recording_and_answers_come_back_in_job_order() -> None:
    audio = np.zeros(10, np.float32)
    jobs = [Job(r, audio, s, s + 1) for r, n in ((0, 3), (1, 1), (2, 2), (3, 1)) for s in range(n)]
    out = decode_parallel(_Echo(), jobs, workers=2)  # type: ignore[arg-type]
    assert [w[0].text for w in out] == [f"{j.recording}:{j.start}" for j in jobs]
