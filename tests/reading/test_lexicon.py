"""Word lists that tell names apart: titles, organisation words, words that are never a name."""

from newsdesk.dates import CALENDAR_WORDS, MONTHS, WEEKDAYS
from newsdesk.reading.lexicon import (
    NOT_NAME_WORDS,
    OFFICE_INSIDE_NAME,
    ORGANISATION_WORDS,
    PERSON_CUE,
    TITLE_BEFORE_NAME,
    TITLE_WORDS,
)


def test_a_title_before_a_name_is_cut_from_it() -> None:
    for text, name in [
        ("President Joe Biden", "Joe Biden"),
        ("Prime  Minister Rishi Sunak", "Rishi Sunak"),
        ("Dr. Jane Goodall", "Jane Goodall"),
        ("Former CEO Jack Dorsey", "Jack Dorsey"),
    ]:
        match = TITLE_BEFORE_NAME.match(text)
        assert match and text[match.end() :] == name, text
    assert not TITLE_BEFORE_NAME.match("Minister")  # a title alone is left as it is
    assert not TITLE_BEFORE_NAME.match("Mayoral race")


def test_an_office_inside_a_capitalised_run_starts_a_person() -> None:
    text = "Russian Security Council Secretary Sergei Shoigu"
    match = OFFICE_INSIDE_NAME.search(text)
    assert (
        match
        and text[: match.start()] == "Russian Security Council"
        and text[match.end() :] == "Sergei Shoigu"
    )
    assert not OFFICE_INSIDE_NAME.search("Secretary Sergei Shoigu")  # at the start: a title, not inside


def test_a_person_cue_is_the_word_right_before_a_name() -> None:
    assert PERSON_CUE.search("the match was won by striker ")
    assert PERSON_CUE.search("said Mr. ")
    assert not PERSON_CUE.search("the strikers ")


def test_title_words_hold_every_word_of_a_title() -> None:
    assert {"minister", "prime", "president", "vice", "foreign", "mr", "ceo", "chief"} <= TITLE_WORDS
    assert not {"sergei", "shoigu", "china"} & TITLE_WORDS


def test_organisation_words_end_an_organisations_name() -> None:
    assert {"inc", "corp", "bank", "council", "ministry", "university", "fc"} <= ORGANISATION_WORDS
    assert not {"smith", "london"} & ORGANISATION_WORDS


def test_calendar_words_and_sentence_openers_are_never_names() -> None:
    assert {"january", "may", "monday", "sunday", "however", "according", "mr"} <= NOT_NAME_WORDS
    assert CALENDAR_WORDS <= NOT_NAME_WORDS and len(CALENDAR_WORDS) == 19
    assert WEEKDAYS[0] == "Monday" and MONTHS["sept"] == MONTHS["september"] == 9
