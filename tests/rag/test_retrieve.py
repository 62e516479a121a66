"""Hybrid, news-aware, diversified retrieval over a real index (embedded and a real Chroma server)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from langchain_core.retrievers import BaseRetriever

from newsdesk.wiring import Newsdesk

ARTICLES = [
    {
        "id": "a1",
        "title": "Google antitrust trial opens",
        "source": "TechCrunch",
        "published": "2023-10-30",
        "url": "u://a1",
        "text": "The Justice Department opened its antitrust case against Google. "
        "Prosecutors said Google paid billions to be the default search engine. "
        "The trial is expected to last ten weeks. Judge Amit Mehta presides over the case.",
    },
    {
        "id": "a2",
        "title": "Apple defends Google deal",
        "source": "The Verge",
        "published": "2023-09-26",
        "url": "u://a2",
        "text": "Apple's Eddy Cue defended the Google search deal in court. "
        "He said there was no valid alternative to Google at the time.",
    },
    {
        "id": "a3",
        "title": "Black Friday deals",
        "source": "Wired",
        "published": "2023-11-25",
        "url": "u://a3",
        "text": "Wired picked the best power banks for Black Friday. "
        "A 10,000-mAh power bank is on sale for half price. Travel adapters are discounted too.",
    },
    {
        "id": "a4",
        "title": "Black Friday tech deals",
        "source": "The Verge",
        "published": "2023-11-24",
        "url": "u://a4",
        "text": "The Verge staff shared favourite Black Friday deals. "
        "Universal travel adapters and power banks top the list this year.",
    },
    {
        "id": "a5",
        "title": "Rare word",
        "source": "Gazette",
        "published": "2023-12-01",
        "url": "u://a5",
        "text": "The zyxolite mineral was found in a cave in Norway by geologists last spring.",
    },
]


@pytest.fixture
def news_desk(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> Newsdesk:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    desk = make_desk(max_chunks_per_article=2, chunk_max_chars=120)
    desk.indexer.index_paths([feed])
    return desk


def urls(docs: list) -> list[str]:  # type: ignore[type-arg]
    return [d.metadata["url"] for d in docs]


def test_is_a_langchain_retriever_with_citation_metadata(news_desk: Newsdesk) -> None:
    retriever = news_desk.qa.retriever
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Who presides over the Google antitrust case?")
    assert urls(docs)[0] == "u://a1"
    meta = docs[0].metadata
    assert {"article_id", "title", "url", "source", "published", "start", "end", "score", "fused"} <= set(
        meta
    )
    assert -1.0 <= meta["score"] <= 1.0


def test_a_rare_word_is_found_by_bm25_even_when_dense_similarity_is_weak(news_desk: Newsdesk) -> None:
    docs = news_desk.qa.retriever.invoke("zyxolite")
    assert urls(docs)[0] == "u://a5"


def test_one_article_never_crowds_out_the_others(news_desk: Newsdesk) -> None:
    docs = news_desk.qa.retriever.invoke("Google antitrust trial search engine judge", k=5)
    per_article = Counter(urls(docs))
    assert max(per_article.values()) <= 2 and len(per_article) >= 2


def test_an_outlet_named_in_the_question_is_preferred(news_desk: Newsdesk) -> None:
    docs = news_desk.qa.retriever.invoke("What Black Friday deals did Wired recommend?")
    assert urls(docs)[0] == "u://a3"
    docs = news_desk.qa.retriever.invoke("What Black Friday deals did The Verge recommend?")
    assert urls(docs)[0] == "u://a4"


def test_a_date_named_in_the_question_is_preferred(news_desk: Newsdesk) -> None:
    docs = news_desk.qa.retriever.invoke("Which Black Friday deals were reported on 2023-11-24?")
    assert urls(docs)[0] == "u://a4"


def test_explicit_source_and_date_filters_are_hard(news_desk: Newsdesk) -> None:
    retriever = news_desk.qa.retriever
    assert set(urls(retriever.invoke("Google", source=["The Verge"], k=10))) <= {"u://a2", "u://a4"}
    assert set(urls(retriever.invoke("deals", since="2023-11", until="2023-11", k=10))) == {
        "u://a3",
        "u://a4",
    }
    assert retriever.invoke("Google", since="2024-01-01") == []


def test_ask_takes_filters_and_rejects_malformed_dates(news_desk: Newsdesk) -> None:
    answer = news_desk.qa.ask("What did Eddy Cue say about Google?", source=["The Verge"], since="2023-09")
    assert not answer.abstained and all(c.source == "The Verge" for c in answer.citations)
    bad = news_desk.qa.ask("What did Eddy Cue say?", since="last tuesday")
    assert bad.abstained and "YYYY-MM-DD" in bad.answer
    empty = news_desk.qa.ask("What did Eddy Cue say?", since="2023-12-01", until="2023-01-01")
    assert empty.abstained and "empty" in bad.answer + empty.answer


def test_dense_only_when_hybrid_is_off(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    desk = make_desk(hybrid=False)
    desk.indexer.index_paths([feed])
    docs = desk.qa.retriever.invoke("Who presides over the Google antitrust case?")
    assert urls(docs)[0] == "u://a1" and all("fused" in d.metadata for d in docs)


def test_this_week_counts_back_from_the_day_asked(news_desk: Newsdesk) -> None:
    retriever = news_desk.qa.retriever
    question = "What was said in court about the Google search deal this week?"
    assert urls(retriever.invoke(question, as_of="2023-09-28"))[0] == "u://a2"
    assert urls(retriever.invoke(question, as_of="2023-11-01"))[0] == "u://a1"
    # Without a day, "this week" is the newest article's week (2023-12-01), which holds neither.
    assert retriever.hints(question).since_day == 20231124
    assert retriever.hints(question, as_of=20230928).since_day == 20230921


def test_news_of_the_week_before_the_day_asked_is_preferred_and_marked_recent(news_desk: Newsdesk) -> None:
    retriever = news_desk.qa.retriever
    question = "Which power banks and travel adapters are on sale for Black Friday?"
    # Both deal stories answer it; asked on 2023-11-24, the one published the day after is not news yet.
    asked_early = retriever.invoke(question, as_of="2023-11-24")
    assert urls(asked_early)[0] == "u://a4" and asked_early[0].metadata["recent"] is True
    assert not any(d.metadata.get("recent") for d in asked_early if d.metadata["url"] == "u://a3")
    asked_late = retriever.invoke(question, as_of="2023-11-30")
    assert {d.metadata["url"] for d in asked_late if d.metadata.get("recent")} == {"u://a3", "u://a4"}
    undated = retriever.invoke(question)
    assert urls(undated)[0] == "u://a3" and not any("recent" in d.metadata for d in undated)


def test_ask_takes_the_day_asked_and_rejects_a_malformed_one(news_desk: Newsdesk) -> None:
    answer = news_desk.qa.ask("Who defended the Google deal this week?", as_of="2023-09-28")
    assert not answer.abstained and answer.citations[0].url == "u://a2"
    for bad in ("last tuesday", "2023-09", "2023-02-30"):
        refused = news_desk.qa.ask("Who defended the Google deal this week?", as_of=bad)
        assert refused.abstained and not refused.citations
        assert refused.answer.startswith("Please check the day the question is asked on")


def test_bm25_searches_on_worker_threads_while_the_question_is_embedded(
    news_desk: Newsdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several questions at once each get their BM25 search, on the retriever's own threads, and the
    same passages as one at a time."""
    retriever = news_desk.qa.retriever
    lexical = news_desk.store.lexical
    assert lexical is not None
    threads: list[str] = []
    search = lexical.search

    def spying(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return search(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lexical, "search", spying)
    questions = ["zyxolite", "Who presides over the Google antitrust case?", "Black Friday power banks"] * 3
    alone = [urls(retriever.invoke(q)) for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: urls(retriever.invoke(q)), questions))
    assert together == alone and alone[0][0] == "u://a5"
    assert len(threads) == 2 * len(questions) and all(name.startswith("bm25") for name in threads)
