"""The examiner's lines: the checks a language model's line must pass, the fallback to the
script, the cache, and (slow) the embedded SmolLM2 writer."""

from __future__ import annotations

from typing import Any

import pytest

from duplex.annotations import Goal
from duplex.conversation import load_writer
from duplex.conversation.chat import ChatWriter
from duplex.conversation.writer import (
    PARAPHRASE_VERSION,
    LineCache,
    LineRequest,
    ScriptWriter,
    check_line,
    load_prompt,
    required_terms,
    tidy,
)
from duplex.errors import ConfigError, UnknownNameError
from duplex.judges.base import JudgeError

CORRECT = Goal(
    "Correct the city: Boston, not Denver.",
    "Actually, I'm flying to Boston, not Denver.",
    expect=("Boston",),
)
ASK = Goal("Ask how many chairs you need.", "How many chairs do I need for 12 people?")


def test_required_terms_keep_facts_names_and_numbers_in_order() -> None:
    assert required_terms(CORRECT) == [("Boston",), ("Denver",)]
    assert required_terms(ASK) == [("12",)]  # "How" starts the sentence: not a name


def test_check_line() -> None:
    assert check_line("Sorry, I'm flying to Boston, not Denver!", CORRECT) is None
    assert check_line("Sorry, I'm flying to Boston!", CORRECT) == "leaves out 'Denver'"
    assert "another order" in str(check_line("I'm flying to Denver, not Boston.", CORRECT))
    assert check_line("Boston.", CORRECT) == "1 words (a line has 3-40)"
    assert "assistant" in str(check_line("As an AI, I'm flying to Boston, not Denver.", CORRECT))
    assert "question" in str(check_line("I need chairs for 12 people.", ASK))
    assert check_line("How many chairs will I need for 12 people?", ASK) is None
    assert "content words" in str(check_line("What about 12 people?", ASK))
    assert "second person" in str(check_line("Are you flying to Boston, not Denver?", CORRECT))
    assert "about the user" in str(
        check_line("The person is flying to Boston, not Denver.", CORRECT)
    )
    heard = "How many chairs do I need for 12 people?"
    assert check_line(heard, ASK, heard=heard) == "repeats what the assistant said"
    assert check_line(heard, ASK, said=(heard,)) == "repeats an earlier line"


def test_tidy_takes_the_quoted_line_or_the_first_line() -> None:
    assert tidy('Rewrite: "Wait, it\'s Boston. Then more. And more."\nNext') == (
        "Wait, it's Boston. Then more."
    )
    assert tidy("\n\nYou: Wait, it's Boston.\nNext") == "Wait, it's Boston."


class FakeChat:
    name, model = "fake", "fake-1"

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls = 0

    def complete(self, system: str, user: str) -> str:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert "Your next line must do this" in user
        return str(answer)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


def request(goal: Goal = CORRECT) -> LineRequest:
    return LineRequest("correction", goal, "turn_end", (("you", "Hi."), ("assistant", "Hello!")))


def test_a_good_line_is_said_and_cached() -> None:
    chat = FakeChat(["Sorry, I'm flying to Boston, not Denver."])
    writer = ChatWriter(chat, load_prompt(), LineCache())
    first, again = writer.write(request()), writer.write(request())
    assert first.text == "Sorry, I'm flying to Boston, not Denver." and first.source == "fake"
    assert again == first and chat.calls == 1 and writer.contextual
    rewrites = ChatWriter(FakeChat([]), load_prompt(PARAPHRASE_VERSION), LineCache())
    assert not rewrites.contextual  # its lines depend on the goal only


def test_a_bad_or_failed_line_falls_back_to_the_script() -> None:
    writer = ChatWriter(FakeChat(["I can help you with that!"]), load_prompt(), LineCache())
    line = writer.write(request())
    assert (line.text, line.source) == (CORRECT.say, "script")
    assert "rejected" in line.note and "speaks as the assistant" in line.note
    failing = ChatWriter(FakeChat([JudgeError("HTTP 500")]), load_prompt(), LineCache())
    line = failing.write(request())
    assert line.source == "script" and "HTTP 500" in line.note


def test_writer_specs() -> None:
    assert isinstance(load_writer("script"), ScriptWriter)
    assert load_writer("script").write(request()).text == CORRECT.say
    with pytest.raises(UnknownNameError, match="did you mean 'smollm2'"):
        load_writer("smollm")
    with pytest.raises(ConfigError, match="unknown argument"):
        load_writer("smollm2:temperature=1")


@pytest.mark.slow
def test_the_embedded_writer_writes_or_falls_back() -> None:
    writer = load_writer("smollm2")
    try:
        line = writer.write(request())
        again = writer.write(request())
    finally:
        writer.close()
    assert line == again  # greedy, and cached
    assert line.source in ("smollm2", "script")
    if line.source == "smollm2":
        assert check_line(line.text, CORRECT) is None
    else:
        assert line.text == CORRECT.say and line.note
