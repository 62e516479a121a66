"""The extractive answerer on small hand-written articles: one test per answer type and per rule of
composition (the direct answer first, cited; supports after; no sentence twice)."""

from __future__ import annotations

import re

from langchain_core.documents import Document

from newsdesk.eval.metrics import contains_answer, lead_of
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.types import Answer
from tests.rag.answer.conftest import doc
from tests.support import CITATION_FIELDS

MARKER = re.compile(r"\[(\d+)\]")


def check_contract(answer: Answer, documents: list[Document]) -> None:
    """Markers and citations match one to one; every quote and answer span is verbatim."""
    used = {int(n) for n in MARKER.findall(answer.answer)}
    assert used == {c.n for c in answer.citations}
    by_id = {d.metadata["article_id"]: d for d in documents}
    for c in answer.citations:
        d = by_id[c.article_id]
        base = int(d.metadata["start"])
        field = d.metadata["title"] if c.field == "title" else None
        if field is not None:
            assert field[c.start : c.end] == c.quote
        else:
            assert d.page_content[c.start - base : c.end - base] == c.quote
        if c.answer_span is not None:
            assert c.start <= c.answer_span.start <= c.answer_span.end <= c.end
            assert c.quote[c.answer_span.start - c.start : c.answer_span.end - c.start] == c.answer_span.text
    sentences = [s.strip() for s in MARKER.sub("|", answer.answer).split("|") if s.strip()]
    assert len(sentences) == len(set(sentences)), "a sentence is repeated"


def lead(answer: Answer) -> str:
    return lead_of(answer.answer)


def test_who_states_the_name(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    answer = answerer.answer("Who won the U.S. Junior Chess Championship?", stories)
    assert not answer.abstained
    assert "Ethan Okafor" in lead(answer)
    assert answer.short_answer == "Ethan Okafor"
    assert any(c.answer_span and c.answer_span.text == "Ethan Okafor" for c in answer.citations)
    check_contract(answer, stories)


def test_ceo_question_is_answered_not_refused(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    answer = answerer.answer("Who is the CEO of Greenfield Energy?", stories)
    assert not answer.abstained
    assert "Maria Lindqvist" in lead(answer)
    check_contract(answer, stories)


def test_how_much_keeps_the_amount_in_the_lead(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    bridge = answerer.answer("How much will the new Harbor Bridge cost?", stories)
    assert contains_answer(lead(bridge), ["$48 million"])
    solar = answerer.answer("How much did the solar farm cost?", stories)
    assert not solar.abstained
    assert contains_answer(lead(solar), ["$165 million"])
    check_contract(bridge, stories)
    check_contract(solar, stories)


def test_when_finds_the_date_two_sentences_later(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    answer = answerer.answer("When will construction finish?", stories)
    assert "June 2027" in lead(answer)
    assert answer.short_answer == "June 2027"


def test_where(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    answer = answerer.answer("Where is Greenfield's new solar farm?", stories)
    assert contains_answer(lead(answer), ["Tonopah", "Nevada"])


def test_which_company_votes_across_articles(answerer: ExtractiveAnswerer) -> None:
    texts = [
        ("TechCrunch", "Google paid billions to be the default search engine on phones, the trial heard."),
        ("TechCrunch", "Epic Games argues that Google controls how apps are distributed on Android devices."),
        ("The Verge", "Publishers say Google siphons off their readers and ad revenue, the suit claims."),
        ("TechCrunch", "Apple executives testified that there was no valid alternative to the deal."),
    ]
    documents = [
        doc(t, title=f"Story {i}", source=s, url=f"u:{i}", score=0.5 - 0.02 * i)
        for i, (s, t) in enumerate(texts)
    ]
    question = (
        "Which company, reported by TechCrunch, has been involved in antitrust cases for its practices in "
        "becoming the default search engine, influencing app distribution and harming news publishers' "
        "revenue?"
    )
    answer = answerer.answer(question, documents)
    assert answer.short_answer == "Google"
    assert "Google" in lead(answer)
    check_contract(answer, documents)


def test_markdown_heading_and_dateline_are_not_shown(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    for question in [
        "How did the Riverton council vote on the bridge?",
        "What is the name of Greenfield's solar farm?",
        "How many points did Okafor score?",
        "How old is the new junior chess champion?",
    ]:
        answer = answerer.answer(question, stories)
        assert "#" not in answer.answer
        assert "RIVERTON," not in answer.answer and "ST. LOUIS," not in answer.answer
        check_contract(answer, stories)


def test_yes_no_checks_the_claims(answerer: ExtractiveAnswerer) -> None:
    a = doc(
        "The Verge reported that Apple and Google renewed their search deal for five years.",
        title="Apple renews Google deal",
        source="The Verge",
        url="u:v",
    )
    b = doc(
        "TechCrunch said regulators did not open an investigation into the deal.",
        title="No probe into search deal",
        source="TechCrunch",
        url="u:t",
        score=0.45,
    )
    yes = answerer.answer("Did The Verge report that Apple and Google renewed their search deal?", [a, b])
    assert lead(yes).startswith("Yes")
    assert not contains_answer(lead(yes), ["no"])
    no = answerer.answer("Does the TechCrunch article say that regulators never discussed the deal?", [a, b])
    no2 = answerer.answer(
        "Did The Verge report that Apple and Google did not renew their search deal?", [a, b]
    )
    assert lead(no2).startswith("No")
    check_contract(yes, [a, b])
    check_contract(no, [a, b])


def test_answer_from_a_headline_cites_the_title_field(answerer: ExtractiveAnswerer) -> None:
    d = doc(
        "The company did not say how it would pay for the purchase.",
        title="Acme buys Widget Corp for $2 billion",
        source="Biz Daily",
        url="u:acme",
    )
    answer = answerer.answer("How much did Acme pay for Widget Corp?", [d])
    assert contains_answer(lead(answer), ["$2 billion"])
    title_citations = [c for c in answer.citations if c.field == "title"]
    assert (
        title_citations
        and title_citations[0].quote == d.metadata["title"][title_citations[0].start : title_citations[0].end]
    )
    check_contract(answer, [d])


def test_two_articles_disagreeing_are_both_shown_and_cited(answerer: ExtractiveAnswerer) -> None:
    a = doc(
        "The city council approved the plan on Monday. The new bridge will cost $48 million, officials said.",
        title="Council approves bridge",
        source="Daily A",
        url="u:a",
    )
    b = doc(
        "Officials said the new bridge will cost $52 million after a late design change. Work starts in May.",
        title="Bridge price rises",
        source="Daily B",
        url="u:b",
        score=0.45,
    )
    answer = answerer.answer("How much will the new bridge cost?", [a, b])
    assert contains_answer(lead(answer), ["$48 million"]) or contains_answer(lead(answer), ["$52 million"])
    assert "$48 million" in answer.answer and "$52 million" in answer.answer
    assert {c.source for c in answer.citations} == {"Daily A", "Daily B"}
    check_contract(answer, [a, b])


def test_a_repeated_wire_sentence_is_shown_once_with_every_marker(answerer: ExtractiveAnswerer) -> None:
    wire = "Apple said on Tuesday it would recall 10,000 chargers because of a fire risk."
    a = doc(
        wire + " The company said no one was hurt.",
        title="Apple recalls chargers",
        source="Wire One",
        url="u:1",
    )
    b = doc(
        "In other news, stocks fell. " + wire, title="Markets fall", source="Wire Two", url="u:2", score=0.45
    )
    answer = answerer.answer("How many chargers will Apple recall?", [a, b])
    assert answer.answer.count(wire) == 1
    assert re.search(re.escape(wire) + r" \[\d\]\[\d\]", answer.answer)
    assert {c.source for c in answer.citations} == {"Wire One", "Wire Two"}
    check_contract(answer, [a, b])


def test_abstains_when_the_cited_outlet_is_not_there(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    answer = answerer.answer("According to Reuters, who is the chief executive of Acme Rockets?", stories)
    assert answer.abstained
    assert answer.citations == []


def test_answers_stay_short(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    for question in [
        "Who coaches Ethan Okafor?",
        "How many homes will the solar farm power?",
        "Who voted against the bridge replacement?",
    ]:
        answer = answerer.answer(question, stories)
        words = len(MARKER.sub(" ", answer.answer).split())
        assert words <= 60
        check_contract(answer, stories)


def test_json_contract_keeps_old_fields_and_adds_new_ones(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    data = answerer.answer("How much will the new Harbor Bridge cost?", stories).to_dict()
    assert {"question", "answer", "abstained", "citations", "timings_ms"} <= set(data)
    assert {"short_answer", "answer_type", "confidence"} <= set(data)
    citation = data["citations"][0]
    assert set(citation) == CITATION_FIELDS


def test_runnable_for_the_langchain_chain(answerer: ExtractiveAnswerer, stories: list[Document]) -> None:
    answer = answerer.as_runnable().invoke({"question": "Who coaches Ethan Okafor?", "documents": stories})
    assert isinstance(answer, Answer)


def test_a_role_or_a_counted_thing_no_article_names_is_refused(answerer: ExtractiveAnswerer) -> None:
    marathon = doc(
        "Anna Kessler won the Brackwood marathon on Sunday in 2 hours 31 minutes, a course record. "
        "About 4,000 runners took part, the organisers said.",
        title="Kessler wins Brackwood marathon",
    )
    assert not answerer.answer("Who won the Brackwood marathon?", [marathon]).abstained
    assert not answerer.answer("How many runners took part in the Brackwood marathon?", [marathon]).abstained
    assert answerer.answer("Who is the mayor of Brackwood?", [marathon]).abstained
    assert answerer.answer("How many passengers did the Brackwood ferries carry?", [marathon]).abstained


def test_a_role_is_answered_only_from_a_sentence_that_names_it(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    # The council story names Riverton's mayor; the chess story names a boy from Columbus, Ohio.
    riverton = answerer.answer("Who is the mayor of Riverton?", stories)
    assert not riverton.abstained and "Carla Jimenez" in lead(riverton)
    check_contract(riverton, stories)
    columbus = answerer.answer("Who is the mayor of Columbus, Ohio?", stories)
    assert columbus.abstained, columbus.answer  # not "Ethan Okafor, an 11-year-old from Columbus, Ohio"


def test_a_date_or_number_asked_needs_one_in_the_sentence_that_matches(
    answerer: ExtractiveAnswerer, stories: list[Document]
) -> None:
    built = answerer.answer("When was the Mill Street bridge built?", stories)
    assert built.abstained, built.answer  # the sentence naming Mill Street holds no date
    finish = answerer.answer("When will construction finish?", stories)
    assert not finish.abstained and "June 2027" in lead(finish)


def test_counted_people_may_be_written_as_males_and_females(answerer: ExtractiveAnswerer) -> None:
    census = doc(
        "The town had 12,000 residents at the last census. "
        "For every 100 females age 18 and over, there were 91.3 males.",
        title="Census figures for Harlow",
    )
    answer = answerer.answer("How many men older than 18 are there for every 100 women in Harlow?", [census])
    assert not answer.abstained and "91.3" in lead(answer)


def test_a_negation_counts_against_an_answer_only_when_it_negates_what_is_asked(
    answerer: ExtractiveAnswerer,
) -> None:
    """ "Kessler did not win" reverses "Who won?"; "a course whose owner was not named" does not."""
    asides = doc(
        "Anna Kessler won the Brackwood marathon on Sunday, on a course whose sponsor was not named.",
        title="Brackwood marathon",
    )
    reversed_ = doc(
        "Anna Kessler did not win the Brackwood marathon on Sunday, her coach said after the race.",
        title="Brackwood marathon",
    )
    question = "Who won the Brackwood marathon on Sunday?"
    said = answerer.answer(question, [asides])
    assert not said.abstained and "Anna Kessler" in lead(said)
    denied = answerer.answer(question, [reversed_])
    assert denied.abstained or denied.confidence < said.confidence
    read = answerer.read(question, [asides])
    assert read.features["negation_reversed"] == 0.0
    assert answerer.read(question, [reversed_]).features["negation_reversed"] == 1.0
