"""The read path over the seed article: cited, verbatim answers; abstention; LangChain composition."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable

from newsdesk.index.load import load_paths
from newsdesk.rag.answer import ABSTAIN_MESSAGE
from newsdesk.rag.verify import markers_in, quote_matches
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE

SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")


def test_who_is_visiting_beijing_names_shoigu_with_a_verbatim_citation(seeded_desk: Newsdesk) -> None:
    answer = seeded_desk.qa.ask("Who is visiting Beijing for security talks?")
    assert not answer.abstained
    assert "Shoigu" in answer.answer
    assert answer.citations and "Shoigu" in answer.citations[0].quote
    for citation in answer.citations:
        assert quote_matches(citation, SEED_TEXT)
        assert citation.title == "Chinese-Russian Security Talks in Beijing"
        assert citation.url == SEED_ARTICLE.resolve().as_uri()


def test_every_sentence_ends_with_a_marker_and_every_citation_is_used(seeded_desk: Newsdesk) -> None:
    answer = seeded_desk.qa.ask("Where will the Su-57 stealth fighter be showcased?")
    assert "Zhuhai" in answer.answer
    assert sorted(set(markers_in(answer.answer))) == [c.n for c in answer.citations]
    assert 1 <= len(answer.citations) <= 3
    for sentence_and_marker in answer.answer.split("] ")[:-1]:
        assert sentence_and_marker.rstrip().split(" [")[-1].isdigit()


def test_question_the_articles_do_not_answer_is_refused_without_citation(seeded_desk: Newsdesk) -> None:
    answer = seeded_desk.qa.ask("What is the capital of Peru?")
    assert answer.abstained and answer.answer == ABSTAIN_MESSAGE and answer.citations == []


def test_an_empty_index_abstains(make_desk: Callable[..., Newsdesk]) -> None:
    answer = make_desk().qa.ask("Who is visiting Beijing?")
    assert answer.abstained and answer.citations == []


def test_bad_questions_get_messages_and_timings(seeded_desk: Newsdesk) -> None:
    for question in ("", "x" * 100_000, "Кто посещает Пекин?"):
        answer = seeded_desk.qa.ask(question)
        assert answer.abstained and answer.citations == [] and answer.answer
        assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
        assert len(answer.question) <= 1000


def test_timings_are_reported(seeded_desk: Newsdesk) -> None:
    answer = seeded_desk.qa.ask("Who is Maria Zakharova?")
    timings = answer.timings_ms
    assert timings["total"] >= timings["retrieve"] > 0 and timings["answer"] > 0


def test_the_chain_is_a_langchain_runnable_with_the_same_answer(seeded_desk: Newsdesk) -> None:
    chain = seeded_desk.qa.chain
    assert isinstance(chain, Runnable)
    question = "Who is visiting Beijing for security talks?"
    via_chain = chain.invoke(question)
    assert via_chain.answer == seeded_desk.qa.ask(question).answer


def test_another_langchain_retriever_plugs_in(seeded_desk: Newsdesk) -> None:
    article = load_paths([SEED_ARTICLE]).articles[0]
    start = article.text.index("Last month")
    end = len(article.text.rstrip())

    class FixedRetriever(BaseRetriever):
        def _get_relevant_documents(self, query: str, *, run_manager: object) -> list[Document]:
            meta = {
                "article_id": article.id,
                "title": article.title,
                "url": "mem://seed",
                "start": start,
                "end": end,
                "score": 0.9,
            }
            return [Document(page_content=article.text[start:end], metadata=meta)]

    qa = type(seeded_desk.qa)(FixedRetriever(), seeded_desk.qa.answerer)
    answer = qa.ask("What did Maria Zakharova say about the partnership?")
    assert not answer.abstained
    assert answer.citations[0].url == "mem://seed"
    assert all(quote_matches(c, article.text) for c in answer.citations)


def test_a_wire_story_run_by_several_outlets_is_cited_once_naming_them_all(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    story = (
        "Flood barriers failed along the river on Sunday night, forcing the evacuation of four thousand "
        "residents from the old town, the regional governor said in a statement on Monday morning. "
        "Rescue teams worked through the night to reach families trapped in their homes near the bridge. "
        "Schools across the district will stay closed until the water level drops, officials added, and "
        "emergency shelters have been opened in three sports halls on the northern edge of the city."
    )
    feed = tmp_path / "wire.jsonl"
    rows = [
        {
            "id": "w1",
            "title": "Floods force evacuation",
            "source": "Wire One",
            "published": "2024-03-04",
            "url": "https://one.example/flood",
            "text": story,
        },
        {
            "id": "w2",
            "title": "Evacuation after floods",
            "source": "Daily Two",
            "published": "2024-03-05",
            "url": "https://two.example/flood",
            "text": story.replace("northern edge", "north side"),
        },
    ]
    feed.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    desk = make_desk()
    report = desk.indexer.index_paths([feed])
    assert len(report.added) == 1 and len(report.duplicates) == 1
    answer = desk.qa.ask("How many residents were evacuated after the flood barriers failed?")
    assert not answer.abstained and "four thousand" in answer.answer
    [first, *_] = answer.citations
    assert first.source == "Wire One"
    assert [o["source"] for o in first.also_in] == ["Daily Two"]
