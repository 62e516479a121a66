import pytest

from newsdesk.rag.answer.question import analyse, choice_options, is_yes_no, missing_outlets
from newsdesk.reading.outlets import named_sources


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who won the U.S. Junior Chess Championship?", "person"),
        ("Who is the CEO of Greenfield Energy?", "person"),
        ("Which company, reported by TechCrunch, has been involved in antitrust cases?", "org"),
        ("Where is Greenfield's new solar farm?", "place"),
        ("When will construction finish?", "date"),
        ("In what year did the war end?", "date"),
        ("How much will the new Harbor Bridge cost?", "money"),
        ("How many vehicles cross the bridge each day?", "count"),
        ("What percentage of voters agreed?", "percent"),
        ("How long did the trial last?", "duration"),
        ("How old is the Harbor Bridge?", "quantity"),
        ("What is the name of Greenfield's solar farm?", "name"),
        ("What is the state average growth rate?", "what"),
        ("Why did the council delay the vote?", "what"),
        ("Did the council approve the bridge?", "yesno"),
        ("Between the report from X and the one from Y, is there consistency in the focus?", "yesno"),
        ("Was the reporting consistent or inconsistent?", "choice"),
    ],
)
def test_answer_types(question: str, kind: str) -> None:
    assert analyse(question).answer_type == kind


def test_yes_no_versus_wh_questions() -> None:
    assert is_yes_no("Does the TechCrunch article suggest that X, while The Verge reports Y?")
    assert not is_yes_no("Considering the articles from Reuters, which company, known for X, is Y?")
    assert choice_options("Was A reported before or after B?") == ("before", "after")


def test_terms_names_and_days() -> None:
    q = analyse("After TechCrunch reported on October 7, 2023, did Google pay $26 billion?")
    assert "googl" in q.names and "techc" in q.names
    assert "2023-10-07" in q.days
    assert "26" in q.numbers


def test_outlets_named_and_missing() -> None:
    sources = ["TechCrunch", "The Verge", "Cnbc | World Business News Leader"]
    question = "According to TechCrunch and a Cnbc report, which company ...?"
    assert named_sources(question, sources) == ["TechCrunch", "Cnbc | World Business News Leader"]
    assert missing_outlets("According to Reuters, who leads the firm?", sources) == ["Reuters"]
    assert missing_outlets("According to Reuters, who leads?", sources, "Reuters reported that ...") == []


def test_what_the_answer_must_be_about() -> None:
    assert analyse("Who is the mayor of Brackwood?").asked == ("mayor",)
    assert analyse("How many passengers did the ferries carry?").asked == ("passe",)
    assert analyse("How many steel cables did engineers replace?").asked == ("steel", "cabl")
    assert analyse("Who is the individual implicated in the case?").asked == ()  # describes, asks no role
    assert analyse("How many times did she win?").asked == ()  # a frame word
    assert analyse("Who won the marathon?").asked == ()


def test_the_nation_a_story_is_set_in_is_no_name_the_evidence_must_hold() -> None:
    """ "US households", "American stores", "the UK's agency": national news seldom repeats them."""
    assert analyse("Which food item is running low in many American grocery stores?").names == frozenset()
    assert analyse("Which awards honor culinary achievement in the United States?").names == frozenset()
    assert analyse("Which virus can US households test for at home?").names == frozenset()
    agency = analyse("The UK's National Crime Agency warned of which drug?")
    assert agency.names == {"natio", "crime", "agenc"}
    assert analyse("Which drug did the Australian agency warn of?").names == {"austr"}
