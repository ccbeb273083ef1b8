"""ReplyFilter: what small models write wrong is dropped as the reply streams; nothing is made up."""

from __future__ import annotations

import re

import pytest

from apps.chatroom.repair import ReplyFilter, clean

SCENE = "A lighthouse on a lonely rock in the North Sea, on the worst night of the winter."
SAID = ["We should look around first.", "No.", "The radio is dead, and the lamp is out."]
ROLES = ["Mira", "Tomas", "Ines", "Rook"]


def fix(text: str, **kw: object) -> str:
    return clean(text, instructions=[SCENE], said=SAID, roles=ROLES, **kw)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Mira: The lamp is out! Fetch oil.", "The lamp is out! Fetch oil."),  # a label at the start
        ("Ares Base: Ah, the dust again.", "Ah, the dust again."),  # a made-up label too
        ('"Fetch the oil, Tomas."', "Fetch the oil, Tomas."),  # wrapping quotes
        ("Tomas, fetch the oil.", "Tomas, fetch the oil."),  # addressing someone is not a label
        ("Yes. Tomas: the radio works.", "Yes."),  # another speaker's line ends the reply
        ("No. We should look around first. Then we climb.", "Then we climb."),  # lines said before
        ("A lighthouse on a lonely rock in the North Sea. I know.", "I know."),  # the prompt echoed
        ("Run. Hide. Shout. Pray. Wait.", "Run. Hide. Shout."),  # at most three sentences
        ("We climb,", "We climb."),  # an ending is added, a dangling comma dropped
        ("No.", ""),  # nothing new: nothing is made up
    ],
)
def test_cleaning(raw: str, kept: str) -> None:
    assert fix(raw) == kept


def test_an_echo_after_words_already_shown_ends_the_reply_trailing_off() -> None:
    assert fix("I went to a lighthouse on a lonely rock in the North Sea today.") == "I went to..."


def test_a_reply_cut_by_the_token_limit_trails_off() -> None:
    f = ReplyFilter(instructions=[SCENE], said=SAID, roles=ROLES)
    f.feed("The storm will pass if we")
    assert f.finish(cut=True) and f.text == "The storm will pass if we..."


def test_streaming_shows_new_words_at_once_and_holds_only_what_may_be_an_echo() -> None:
    f = ReplyFilter(instructions=[SCENE], said=SAID, roles=ROLES)
    pieces = ["Get", " the", " spare", " lamp", " now", ".", " A", " lighthouse", " on", " a", " lonely", " rock", " in"]
    shown = [f.feed(p) for p in pieces]
    # the label check holds the first words; after that, new words show one word behind the model
    assert "".join(shown[:6]).startswith("Get the spare")
    # 'A lighthouse on a lonely rock' is held: it may be (and becomes) an echo of the scene
    assert "lighthouse" not in "".join(shown)
    f.finish()
    assert f.text == "Get the spare lamp now."
    assert any(d.startswith("echo") for d in f.dropped)
    # what was shown while streaming is exactly the final text: nothing shown is taken back
    assert "".join(shown) + "" == f.text[: len("".join(shown))]


def test_the_filter_is_never_a_source_of_text() -> None:
    """Every word of a cleaned reply comes from the model's text, in order."""
    for raw in ["Mira: Go. Go now! Tomas: no", '"Hmm," she said, "fine."', "one two three, four"]:
        out = fix(raw)
        model_words = re.findall(r"[a-z']+", raw.lower())
        it = iter(model_words)
        assert all(w in it for w in re.findall(r"[a-z']+", out.lower())), (raw, out)
