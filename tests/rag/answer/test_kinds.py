"""Reading "which X": the head noun of the wh-phrase decides the kind of name asked for."""

from __future__ import annotations

import pytest

from newsdesk.rag.answer.kinds import focus_kind, focus_words, place_fit
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
