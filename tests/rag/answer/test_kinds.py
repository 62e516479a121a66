"""Reading "which X": the head noun of the wh-phrase decides the kind of name asked for."""

from __future__ import annotations

import pytest

from newsdesk.rag.answer.kinds import focus_kind, focus_words, place_fit, wh_frame
from newsdesk.rag.answer.question import analyse


@pytest.mark.parametrize(
    ("question", "head", "kind"),
    [
        ("Which burger chain has agreed to remove artificial dyes from its menu items?", "chain", "org"),
        ("Which comedian announced he will return to late-night TV next month?", "comedian", "person"),
        (
            "Which country plunged into political chaos after its president declared martial law?",
            "country",
            "place",
        ),
        ("Which Netflix show became the platform's most-watched series?", "show", "work"),
        ("Which automaker recalled more than 380,000 pickup trucks this week?", "automaker", "org"),
        ("Which weight-loss drug was approved for sleep apnea?", "drug", "product"),
        ("What is the name of the festival that Phish is hosting in Delaware?", "festival", "event"),
        ("Which member of BTS announced a solo world tour this week?", "member", "person"),
        ("Which US state passed a law banning TikTok?", "state", "place"),
        ("Which country's prime minister was suspended by the constitutional court?", "country", "place"),
        ("Which type of plant was found growing on the moon?", "plant", ""),  # a description is asked
        ("The law admitted California as what kind of state?", "state", ""),
        ("Which law was struck down by the Supreme Court?", "law", "law"),
        ("Which stadium will host the final?", "stadium", "facility"),
    ],
)
def test_the_head_noun_decides_the_kind(question: str, head: str, kind: str) -> None:
    assert focus_kind(question) == (head, kind)


def test_the_phrase_stops_at_the_verb() -> None:
    assert focus_words("Which ice cream brand announced that its co-founder quit?") == [
        "ice",
        "cream",
        "brand",
    ]
    assert focus_words("Which NFL team won the Super Bowl?") == ["NFL", "team"]
    assert focus_words("What happened in Paris?") == []
    assert focus_words("Which type of bug will emerge this spring?") == ["bug"]
    assert focus_words("Cases of which sexually transmitted disease have hit a high?") == [
        "sexually",
        "transmitted",
        "disease",
    ]
    assert focus_words("Which phenomenon recently caused the sky to light up?") == ["phenomenon"]
    assert focus_words("Which of the following is the highest court?") == []


def test_one_reader_of_the_focus_for_every_kind_of_question() -> None:
    assert analyse("In which year did the bridge open?").focus == "year"
    assert analyse("Which type of event placed millions under alerts?").focus == "event"
    assert analyse("What is the name of the festival that Phish is hosting?").focus == "festival"


@pytest.mark.parametrize(
    ("question", "answer_type"),
    [
        ("Which burger chain has agreed to remove artificial dyes?", "org"),
        ("Which Netflix show became the most-watched series?", "work"),
        ("Which weight-loss drug was approved this week?", "product"),
        ("Who won the race in which country?", "person"),  # "who" asks first
        ("In which year did the bridge open?", "date"),  # a date, not a name
        ("Which animal escaped from the zoo?", "what"),  # no known kind: a clause answers
    ],
)
def test_the_answer_type_follows_the_focus(question: str, answer_type: str) -> None:
    assert analyse(question).answer_type == answer_type


def test_a_place_question_narrows_by_gazetteer() -> None:
    assert place_fit("country", "South Korea") == 1.0
    assert place_fit("country", "Seoul") is not None and place_fit("country", "Seoul") < 0.5  # type: ignore[operator]
    assert place_fit("state", "Ohio") == 1.0
    assert place_fit("city", "Ohio") < 0.5  # type: ignore[operator]
    assert place_fit("city", "Columbus") == 1.0
    assert place_fit("region", "Ohio") is None


@pytest.mark.parametrize("name", ["Texas", "Illinois", "Texas's", "Arkansas’"])
def test_a_state_ending_in_s_is_a_state(name: str) -> None:
    """Only a possessive is cut from a name before the gazetteer looks: "Texas", not "Texa"."""
    assert place_fit("state", name) == 1.0


def test_the_nation_a_story_is_set_in_is_no_answer_to_which_country() -> None:
    """News asks "which country" of another country than its own: "the U.S." and "Britain" fit as a
    city does, while "the Philippines" and "Honduras" are countries."""
    for home in ("U.S.", "the United States", "US", "Britain", "the UK's"):
        assert place_fit("country", home) == place_fit("country", "Seoul"), home
    for country in ("the Philippines", "Honduras", "the Netherlands", "France"):
        assert place_fit("country", country) == 1.0, country


@pytest.mark.parametrize(
    ("question", "before", "after"),
    [
        # the phrase's words and the auxiliaries after it are no part of the frame
        ("Which insect has been added to the endangered species list?", "", "add to the endan spec list"),
        ("A California sea otter keeps stealing what?", "a calif sea ott keep steal", ""),
        ("Which of the following is the highest court in the US?", "", "the high court in the us"),
        ("Which type of bug will emerge this spring?", "", "emerg thi spr"),
        # "which" asks when a "what" stands earlier in a clause of its own
        ("In what is believed to be a record, a pod of which species washed ashore?",
         "in what is belie to be a recor a pod of", "wash ashor"),
    ],
)  # fmt: skip
def test_the_frame_is_the_question_s_words_either_side_of_its_wh_phrase(
    question: str, before: str, after: str
) -> None:
    assert wh_frame(question) == (tuple(before.split()), tuple(after.split()))


def test_a_question_without_which_or_what_has_no_frame() -> None:
    assert wh_frame("Who won the Super Bowl?") is None
    assert analyse("Who won the Super Bowl?").frame is None
    frame = analyse("Which animal returned to the zoo?").frame
    assert frame is not None and frame == wh_frame("Which animal returned to the zoo?")


@pytest.mark.parametrize(
    ("question", "by_place"),
    [
        ("Which soccer team won the 2024 Copa América final?", True),
        ("Which school won the College Football Playoff this week?", True),
        ("Which state Supreme Court cleared the way for the ban?", True),
        ("Which company topped $5 trillion in market value?", False),
        ("Which country won the most medals?", False),  # a place question already
    ],
)
def test_some_organisations_are_named_by_their_place(question: str, by_place: bool) -> None:
    assert analyse(question).by_place is by_place
