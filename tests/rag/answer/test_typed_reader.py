"""The typed reader on small hand-written news articles, with named entities found as the indexer
finds them (the real spaCy model): "which X" answered by a name of kind X that the question does not
already name, from the sentence that echoes the question, the one before it, or the headline; the
lead is the sentence that states it; refusals when no name of the asked kind goes with the question's
relation; page furniture never quoted."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from newsdesk.eval.metrics import contains_answer, lead_of
from newsdesk.index.entities import EntityRecognizer, encode, within
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.types import Answer
from tests.rag.answer.conftest import doc
from tests.rag.answer.test_answerer import check_contract


@pytest.fixture(scope="module")
def recognizer() -> EntityRecognizer:
    return EntityRecognizer()


def article(recognizer: EntityRecognizer, text: str, title: str, **kwargs: object) -> Document:
    """A retrieved passage holding the whole article, with the entities the indexer stores."""
    passage = doc(text, title=title, **kwargs)  # type: ignore[arg-type]
    body, headline = recognizer.recognise([text, title])
    passage.metadata["entities"] = encode(within(body, 0, len(text)))
    passage.metadata["title_entities"] = encode(headline)
    return passage


def stated(answer: Answer, name: str) -> bool:
    """The lead states the name, and the lead citation's answer span marks it."""
    return (
        not answer.abstained
        and contains_answer(lead_of(answer.answer), [name])
        and any(c.answer_span is not None and name in c.answer_span.text for c in answer.citations)
    )


DYES = (
    "In-N-Out Burger will stop using artificial dyes in its shakes and desserts by the end of the year.\n\n"
    "The burger chain said in a Facebook post that it has already replaced Red Dye 40 in its strawberry "
    "shake.\n\n"
    "More: Starbucks ends open-door policy, restrooms now for paying customers only\n\n"
    "Why are food dyes being removed?\n\n"
    "Health officials have urged food companies to remove artificial dyes from their products."
)
MARTIAL_LAW = (
    "Lawmakers voted early Wednesday to lift the martial law declared by President Yoon Suk Yeol hours "
    "earlier, plunging the country into political chaos.\n\n"
    "Troops had surrounded the National Assembly in Seoul before the vote."
)
COMEDIAN = (
    "Conan O'Brien, the comedian and former talk show host, announced on Tuesday that he will return to "
    "late-night TV next month with a weekly program.\n\n"
    "He left his nightly show in 2021."
)
SHOW = (
    "The wildly popular South Korean drama “Squid Game” returns for its final season on Netflix this "
    "week, the streamer said.\n\n"
    "The survival show became the most-watched series in Netflix history."
)
DRUG = (
    "The Food and Drug Administration approved Zepbound, the weight-loss drug made by Eli Lilly, as the "
    "first medicine for obstructive sleep apnea on Friday.\n\n"
    "About 20 million Americans have the condition."
)
FESTIVAL = (
    "Phish will host Mondegreen, a four-day music festival, at the Woodlands of Dover International "
    "Speedway in Delaware in August.\n\n"
    "Tickets go on sale next week."
)
FLOOD = (
    "Record rainfall brought historic flooding to southern Ohio this week, and several rivers crested at "
    "levels not seen in decades, the National Weather Service said.\n\n"
    "Governor Mike DeWine declared a state of emergency in 14 counties."
)


@pytest.fixture(scope="module")
def news(recognizer: EntityRecognizer) -> list[Document]:
    stories = [
        (DYES, "Fast-food giant drops artificial food dyes from its menu"),
        (MARTIAL_LAW, "South Korea lawmakers overturn martial law after a night of chaos"),
        (COMEDIAN, "A late-night return"),
        (SHOW, "The final season arrives"),
        (DRUG, "FDA approves a weight-loss drug for sleep apnea"),
        (FESTIVAL, "Phish festival heads to Delaware"),
        (FLOOD, "Rivers crest after record rain"),
    ]
    return [
        article(recognizer, text, title, url=f"https://example.test/{i}", score=0.4)
        for i, (text, title) in enumerate(stories)
    ]


@pytest.mark.parametrize(
    ("question", "name", "kind"),
    [
        ("Which burger chain agreed to remove artificial dyes from its menu?", "In-N-Out Burger", "org"),
        ("Which comedian announced he will return to late-night TV next month?", "Conan O'Brien", "person"),
        ("Which country plunged into chaos when martial law was declared?", "South Korea", "place"),
        ("Which South Korean show returns for its final season this week?", "Squid Game", "work"),
        ("Which weight-loss drug was approved as a treatment for sleep apnea?", "Zepbound", "product"),
        ("What is the name of the festival that Phish is hosting in Delaware?", "Mondegreen", "event"),
        ("Which state was hit by historic flooding this week?", "Ohio", "place"),
    ],
)  # fmt: skip
def test_which_x_is_answered_by_a_name_of_kind_x(
    answerer: ExtractiveAnswerer, news: list[Document], question: str, name: str, kind: str
) -> None:
    answer = answerer.answer(question, news)
    assert answer.answer_type == kind
    assert stated(answer, name), answer.answer
    check_contract(answer, news)


def test_the_name_in_the_sentence_before_the_one_that_echoes_the_question(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    # "The burger chain said ..." echoes the question; the chain's name stands one sentence before.
    docs = [article(recognizer, DYES, "Artificial dyes are on the way out", url="https://example.test/d")]
    answer = answerer.answer("Which burger chain has agreed to remove artificial dyes from its menu?", docs)
    assert stated(answer, "In-N-Out"), answer.answer
    assert "Facebook" not in lead_of(answer.answer)  # named beside the description, not the chain


def test_the_name_in_the_headline(answerer: ExtractiveAnswerer, recognizer: EntityRecognizer) -> None:
    docs = [article(recognizer, MARTIAL_LAW, MARTIAL_LAW_TITLE, url="https://example.test/k")]
    answer = answerer.answer(
        "Which country plunged into political chaos after its president declared martial law?", docs
    )
    assert stated(answer, "South Korea"), answer.answer
    assert answer.citations[0].field == "title"  # the headline is quoted, verbatim
    check_contract(answer, docs)


MARTIAL_LAW_TITLE = "South Korea lawmakers overturn martial law after a night of chaos"


def test_a_name_in_apposition(answerer: ExtractiveAnswerer, recognizer: EntityRecognizer) -> None:
    docs = [article(recognizer, DRUG, "A first for sleep apnea", url="https://example.test/z")]
    answer = answerer.answer("Which weight-loss drug was approved for sleep apnea?", docs)
    assert stated(answer, "Zepbound"), answer.answer
    assert "Eli Lilly" not in (answer.short_answer or "")


def test_no_name_of_the_asked_kind_is_refused(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    recall = (
        "A recall of more than 380,000 pickup trucks was announced this week because a tailgate can open "
        "while driving, federal regulators said.\n\n"
        "Owners will be notified by mail in January, said Jane Porter, a safety analyst."
    )
    docs = [
        article(recognizer, recall, "Pickup trucks recalled over tailgates", url="https://example.test/r")
    ]
    answer = answerer.answer("Which automaker recalled more than 380,000 pickup trucks this week?", docs)
    assert answer.abstained, answer.answer
    assert not answer.citations


def test_page_furniture_is_never_quoted(answerer: ExtractiveAnswerer, recognizer: EntityRecognizer) -> None:
    docs = [article(recognizer, DYES, "Artificial dyes are on the way out", url="https://example.test/m")]
    for question in (
        "Which chain is ending a policy that lets anyone use its restrooms without making a purchase?",
        "Why are food dyes being removed?",
        "Which burger chain has agreed to remove artificial dyes?",
    ):
        answer = answerer.answer(question, docs)
        assert "More:" not in answer.answer and "Starbucks" not in answer.answer, answer.answer
        assert "Why are food dyes being removed?" not in answer.answer


def test_the_answer_is_stated_by_its_fullest_name(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    """Articles shorten a name once given ("the Lions"): the answer states the name in full."""
    team = (
        "The Detroit Lions first hosted a Thanksgiving Day game in 1934.\n\n"
        "The Lions have played 84 Thanksgiving games, the most of any NFL team. "
        "The Lions lost to the Green Bay Packers last year."
    )
    docs = [article(recognizer, team, "A holiday tradition", url="https://example.test/t")]
    answer = answerer.answer("Which NFL team has played the most games on Thanksgiving Day?", docs)
    assert stated(answer, "Detroit Lions"), answer.answer
    assert "Packers" not in (answer.short_answer or "")


def test_of_two_stories_alike_the_one_the_retriever_marks_recent_answers(
    recognizer: EntityRecognizer,
) -> None:
    """Asked on a given day, news of that week answers "this week" over an older story alike."""
    question = "Which company lost an antitrust lawsuit this week?"
    ruling = "A federal judge ruled on Tuesday that {} broke antitrust law, a landmark loss in the lawsuit."
    title = "Judge rules in antitrust case"
    older = article(recognizer, ruling.format("Microsoft"), title, published="2023-03-01", url="u://old")
    newer = article(recognizer, ruling.format("Google"), title, published="2024-08-06", url="u://new")
    reader = ExtractiveAnswerer.load()
    assert stated(reader.answer(question, [older, newer]), "Microsoft")  # retrieval's order decides
    newer.metadata["recent"] = True
    assert stated(reader.answer(question, [older, newer]), "Google")


def test_a_question_naming_the_nation_is_answered_by_a_story_that_does_not(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    """A national story says "nationwide", not "in the US": the question's "US" does not refuse it."""
    recall = (
        "Toyota is recalling more than 380,000 Tundra pickup trucks nationwide because debris left during "
        "manufacturing could cause the engine to fail, federal regulators said this week."
    )
    docs = [article(recognizer, recall, "Pickups recalled over engine debris", url="https://example.test/u")]
    asked = "Which automaker recalled more than 380,000 pickup trucks in {} this week?"
    answer = answerer.answer(asked.format("the US"), docs)
    assert stated(answer, "Toyota"), answer.answer
    same = answerer.answer(asked.format("Brazil"), docs)
    assert same.abstained or same.confidence < answer.confidence, same.answer


def test_the_name_the_relation_is_said_of_answers_before_the_names_it_is_compared_with(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    """The small NER model calls this chain a person; the chains it is compared with ("bigger drugstore
    chains like CVS") are described as chains, yet the one that filed for bankruptcy answers. A
    question word opening a headline ("Is Rite Aid ...?") is no part of the name."""
    text = (
        "One of the largest pharmacy chains in the country, Rite Aid has struggled to keep up with bigger "
        "drugstore chains like CVS and Walgreens.\n\n"
        "Rite Aid filed for bankruptcy on Sunday and plans to close stores across the country."
    )
    docs = [article(recognizer, text, "Is Rite Aid closing more stores?", url="https://example.test/r")]
    question = "Which major pharmacy chain filed for bankruptcy this week?"
    answer = answerer.answer(question, docs)
    assert stated(answer, "Rite Aid"), answer.answer
    assert "CVS" not in (answer.short_answer or "")
    keys = {g.key for g in answerer.read(question, docs).groups}
    assert "rite aid" in keys and not any(k.startswith("is ") for k in keys), keys
    check_contract(answer, docs)


def test_a_team_is_answered_by_the_place_it_is_named_for(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    """News names national and college teams by their place ("Argentina won"): a place answers "which
    team", as it answers "which *state* Supreme Court" (which state's court)."""
    text = (
        "Argentina beat Colombia 1-0 in extra time to win the Copa América final in Miami on Sunday.\n\n"
        "CONMEBOL, the South American football confederation, said it would review the crowd trouble."
    )
    docs = [article(recognizer, text, "Copa América final", url="https://example.test/c")]
    answer = answerer.answer("Which soccer team won the 2024 Copa América final?", docs)
    assert stated(answer, "Argentina"), answer.answer
    check_contract(answer, docs)


def test_an_untyped_answer_leads_with_the_sentence_that_says_the_question_around_it(
    answerer: ExtractiveAnswerer,
) -> None:
    """ "Which insect has been added to the endangered species list?": of two sentences that echo the
    question about as well, the one that repeats its words around new ones ("added the monarch
    butterfly to the endangered species list") states the answer."""
    text = (
        "Insects are disappearing from the endangered species list's protections, officials warned as the "
        "list was updated this week.\n\n"
        "Scientists added the monarch butterfly to the endangered species list on Thursday, citing habitat "
        "loss.\n\n"
        "The butterfly's numbers have fallen by 90% in two decades."
    )
    docs = [doc(text, title="A butterfly in danger", url="https://example.test/m")]
    question = "Which insect has been added to the endangered species list this week?"
    reading = answerer.read(question, docs)
    assert "monarch" not in reading.ranked[0].text  # the other sentence echoes the question more
    answer = answerer.answer(question, docs)
    assert lead_of(answer.answer).startswith("Scientists added the monarch butterfly"), answer.answer
    check_contract(answer, docs)


def test_an_article_missing_one_incidental_name_of_many_still_answers(
    answerer: ExtractiveAnswerer, recognizer: EntityRecognizer
) -> None:
    """A question naming three names ("Disney", "TV", "The Mandalorian") is answered from the story that
    says two of them, not only from a story that happens to say all three."""
    suit = "Actor Gina Carano is suing Disney over her firing from 'The Mandalorian' in 2021."
    series = "Disney said its TV series 'The Mandalorian' will return next year, starring Pedro Pascal."
    docs = [
        article(recognizer, suit, "Carano sues Disney", url="https://example.test/suit"),
        article(recognizer, series, "Mandalorian returns", url="https://example.test/series"),
    ]
    answer = answerer.answer(
        'Which actor is suing Disney over their firing from TV series "The Mandalorian"?', docs
    )
    assert stated(answer, "Gina Carano"), answer.answer
    check_contract(answer, docs)
