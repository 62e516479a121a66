"""Answer groups: the mentions of one answer across passages, under its fullest name."""

from __future__ import annotations

from newsdesk.rag.answer.spans import _alias_target


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
