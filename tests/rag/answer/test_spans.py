"""Answer groups: the mentions of one answer across passages, under its fullest name."""

from __future__ import annotations

from newsdesk.rag.answer.candidates import passages_of, sentences_of
from newsdesk.rag.answer.question import analyse
from newsdesk.rag.answer.spans import _alias_target, frame_fit
from tests.rag.answer.conftest import doc


def test_a_short_name_joins_the_one_longer_name_that_holds_it() -> None:
    assert _alias_target("bankman-fried", ["sam bankman-fried", "ftx"]) == "sam bankman-fried"
    assert _alias_target("lions", ["detroit lions", "lions gate films"]) is None  # two teams of words


def test_a_short_name_joins_the_longer_name_every_other_holding_it_holds() -> None:
    """A headline's capitalised run ("New York Knicks NBA Finals") holds the full name too."""
    longer = ["new york knicks nba finals", "new york knicks", "cavaliers"]
    assert _alias_target("knicks", longer) == "new york knicks"
    assert _alias_target("williams", ["serena williams hsbc championships", "serena williams"]) == (
        "serena williams"
    )


def test_a_sentence_fits_the_question_s_frame_when_it_says_its_words_around_new_ones() -> None:
    q = analyse("A pod of which species washed ashore on the Isle of Lewis?")
    text = (
        "A pod of pilot whales washed ashore on the Isle of Lewis on Sunday. "
        "The species washed ashore in large numbers. "
        "Rescuers said the stranding was the worst in decades."
    )
    fits = [frame_fit(q, s) for s in sentences_of(passages_of(q, [doc(text)]))]
    assert fits[0] > 4  # "a pod of" [pilot whales] "washed ashore on the Isle of Lewis"
    assert fits[1] == 0  # the words around "The species" are the question's own
    assert fits[2] == 0
    passive = analyse("Which insect has been added to the endangered species list?")
    said = "Scientists added the monarch butterfly to the endangered species list."
    assert frame_fit(passive, sentences_of(passages_of(passive, [doc(said)]))[0]) >= 4
