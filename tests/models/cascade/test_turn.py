from __future__ import annotations

import pytest

from duplex.models.cascade.turn import is_backchannel, judge


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "I was thinking that we could go to the beach tomorrow.",
        "Tell me a joke",
        "Wait, stop.",
    ],
)
def test_finished_turns_are_complete(text: str) -> None:
    assert judge(text).complete


@pytest.mark.parametrize(
    "text",
    [
        "I was thinking that we could.",  # whisper's full stop on a fragment
        "I went to the shop and",
        "So I told him that the",
        "My plan is, um",
        "I wanted to ask you about...",
        "Yesterday I was,",
        "",
    ],
)
def test_fragments_are_incomplete(text: str) -> None:
    assert not judge(text).complete


@pytest.mark.parametrize(
    "text",
    [
        "Yeah.",
        "mm-hmm",
        "Okay, right.",
        "",
        "Oh, I see.",
        "Okay, got it.",  # phrases, not words: "got it", "go on", "makes sense"
        "Oh, interesting.",
        "M-hm.",
        "Go on.",
        "Oh, really?",
        "That makes sense.",
        "Right, right.",
    ],
)
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wait.",
        "Stop, I have a question.",
        "No, that's wrong",
        "I got a question.",  # "got" alone is no backchannel
        "Go to the kitchen.",
        "Okay, okay, okay, okay, okay.",  # too long to be one
        "Sure, what about Tuesday?",
    ],
)
def test_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)
