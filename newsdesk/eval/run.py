"""Runs Newsdesk over an eval set: index its articles into a fresh index, ask every question."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from newsdesk.config import Settings
from newsdesk.eval.metrics import Metrics, metrics_from_records
from newsdesk.eval.records import (
    PredictionRecord,
    citation_record,
    load_eval_articles,
    load_questions,
)
from newsdesk.rag.llm.generate import final_of

RETRIEVAL_DEPTH = 10
"""Distinct articles per question used for the ranking metrics (at least; see ``run_eval``)."""

FETCH_FACTOR = 4
"""Chunks fetched per wanted article, so both pipelines can fill the top ``depth`` distinct articles."""


def _distinct(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(u for u in urls if u))


def _record(
    question: dict[str, Any],
    *,
    answer: str,
    abstained: bool,
    retrieved_urls: list[str],
    citations: list[dict[str, Any]],
    timings_ms: dict[str, float],
) -> PredictionRecord:
    return PredictionRecord(
        id=str(question["id"]),
        question=str(question["question"]),
        type=question.get("type"),
        answerable=bool(question.get("answerable", True)),
        gold_urls=[str(u) for u in question.get("gold_urls", [])],
        answers=[str(a) for a in question.get("answers", [])],
        answer=answer,
        abstained=abstained,
        retrieved_urls=retrieved_urls,
        cited_urls=_distinct(str(c["url"]) for c in citations),
        citations=citations,
        timings_ms=timings_ms,
    )


def run_eval(
    data_dir: Path, settings: Settings, k: int = 10, limit: int | None = None
) -> tuple[Metrics, list[PredictionRecord], float]:
    """Index ``data_dir``'s articles with Newsdesk and ask it every question.

    Answers come from ``NewsdeskQA.ask`` with the settings' own ``k``; the retrieval ranking from the
    same retriever asked for ``max(k, 10)`` chunks, reduced to distinct article urls. When
    ``settings.db`` is None the index goes to a temporary folder, so no user index is touched.

    Returns:
        (metrics, records, indexing seconds); ``metrics['index_seconds']`` holds the seconds too.
    """
    from newsdesk.wiring import Newsdesk

    articles = load_eval_articles(data_dir)
    questions = load_questions(data_dir, limit)
    depth = max(k, RETRIEVAL_DEPTH)
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as tmp:
        if settings.db is None:
            settings = settings.model_copy(update={"db": Path(tmp) / "index"})
        desk = Newsdesk(settings)
        started = time.perf_counter()
        desk.indexer.index_articles(articles)
        index_seconds = time.perf_counter() - started

        records: list[PredictionRecord] = []
        for question in questions:
            text = str(question["question"])
            # The day the question was asked, when the set says: "this week" counts back from it.
            as_of = str(question.get("date") or "") or None
            # Streamed: the time to the first text is recorded.
            answer = final_of(desk.qa.stream(text, as_of=as_of))
            documents = (
                desk.qa.retriever.invoke(text.strip(), None, k=depth * FETCH_FACTOR, as_of=as_of)
                if text.strip()
                else []
            )
            records.append(
                _record(
                    question,
                    answer=answer.answer,
                    abstained=answer.abstained,
                    retrieved_urls=_distinct(str(d.metadata.get("url", "")) for d in documents)[:depth],
                    citations=[citation_record(c) for c in answer.citations],
                    timings_ms=dict(answer.timings_ms),
                )
            )
    metrics = metrics_from_records(
        records, {a.url: a.text for a in articles}, {a.url: a.title for a in articles}
    )
    metrics["index_seconds"] = index_seconds
    return metrics, records, index_seconds
