"""End-of-turn judgement from the partial transcript of the user's turn.

A silence timer alone answers every hesitation ("I was thinking that we could ... go to the
beach"). Whisper is no help on its own: it closes almost every fragment with a full stop ("I was
thinking that we could."), so punctuation is only trusted together with the last word. The rule:

* no words -> not a turn (noise, a cough);
* an ellipsis or a trailing comma/dash -> incomplete;
* a question or exclamation mark -> complete ("What could that have been?" ends on a function
  word but is finished; Whisper rarely puts "?" on a fragment);
* the last word is a function word that cannot end an English sentence (conjunctions, articles,
  prepositions, modals and auxiliaries, subject pronouns, possessives) or a filler ("um", "so",
  "like") -> incomplete;
* otherwise complete.

An incomplete turn is still taken after a longer silence (``CascadeParams.max_silence``): people
do trail off. Measured on the pause_handling suite: on its texts the rule holds 131/131 pause
prefixes and takes 63/64 whole turns; on Whisper's partial transcripts (first 16 items, audio cut
at each pause) it holds 19/31 prefixes where punctuation alone holds 8/31, and takes 16/16 turns.
Whisper's fragments that pass ("... I want to visit.", "... that the neighbors.") are caught by
the LLM's end-of-turn probability in :mod:`.agent` (eot=lm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONJUNCTIONS = "and or but so because since although though if unless until while whereas than"
_ARTICLES = "a an the this that these those my your his her its our their some any every no"
_PREPOSITIONS = (
    "to of in on at for with from by about into onto over under between through during "
    "before after towards toward without within across near like as"
)
_AUXILIARIES = (
    "is are was were be been being am do does did have has had can could will would shall "
    "should may might must need i'm you're we're they're it's he's she's i've we've i'd i'll "
    "we'll let's gonna wanna"
)
_PRONOUNS = "i we you they he she it who which what where when how why whether there"
_FILLERS = "um uh er erm hmm mm like well so basically actually just maybe also then"

INCOMPLETE_LAST_WORDS = frozenset(
    " ".join((_CONJUNCTIONS, _ARTICLES, _PREPOSITIONS, _AUXILIARIES, _PRONOUNS, _FILLERS)).split()
)
#: What a listener says to keep the speaker going: single words, and phrases that are
#: backchannels only as a whole ("got it", not "got"; "go on", not "on"). Spellings are Whisper's
#: ("mm-hmm", "m-hm", "uh-huh"). "No" is not one: it is as often an objection.
BACKCHANNEL_WORDS = frozenset(
    "yeah yes yep yup ya ok okay mm mhm mm-hmm mm-hm m-hm m-hmm hm-hmm uh-huh hmm hm huh right "  # noqa: SIM905
    "sure alright aha ah ahh oh ooh wow really cool great nice true exactly indeed totally "
    "absolutely definitely certainly interesting gotcha".split()
)
BACKCHANNEL_PHRASES = frozenset(
    tuple(p.split())
    for p in (
        "i see",
        "got it",
        "i got it",
        "go on",
        "go ahead",
        "of course",
        "all right",
        "makes sense",
        "that makes sense",
        "fair enough",
        "i know",
        "no way",
        "sounds good",
        "that's right",
        "that's true",
        "that's interesting",
        "that's cool",
        "uh huh",
        "mm hmm",
        "good point",
    )
)
#: a backchannel is short: longer overlaps are turns even when made of these words
BACKCHANNEL_MAX_WORDS = 4

_WORD = re.compile(r"[a-z][a-z'\-]*")


def words(text: str) -> list[str]:
    """Lower-case words of a transcript, punctuation removed."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class TurnJudgement:
    complete: bool
    reason: str


def judge(text: str) -> TurnJudgement:
    """Whether ``text``, the transcript of the user's turn so far, reads as a finished turn."""
    stripped = text.strip()
    ws = words(stripped)
    if not ws:
        return TurnJudgement(False, "no words")
    if stripped.endswith(("...", "…", ",", "-", "—")):
        return TurnJudgement(False, "trailing ellipsis or comma")
    if stripped.endswith(("?", "!")):
        return TurnJudgement(True, "question or exclamation")
    if ws[-1] in INCOMPLETE_LAST_WORDS:
        return TurnJudgement(False, f"ends on {ws[-1]!r}")
    return TurnJudgement(True, "ends on a content word")


def is_backchannel(text: str) -> bool:
    """True for an empty transcript (a cough, a breath) or a short one made only of backchannel
    words and phrases ("Yeah.", "Oh, I see.", "Okay, got it.")."""
    ws = words(text)
    if len(ws) > BACKCHANNEL_MAX_WORDS:
        return False
    i = 0
    while i < len(ws):
        # the longest phrase starting here, else a single backchannel word
        for n in (3, 2):
            if tuple(ws[i : i + n]) in BACKCHANNEL_PHRASES:
                i += n
                break
        else:
            if ws[i] not in BACKCHANNEL_WORDS:
                return False
            i += 1
    return True
