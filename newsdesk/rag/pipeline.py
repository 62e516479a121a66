"""The read path as one object: check the question, retrieve, answer, verify, with timings.

``NewsdeskQA.chain`` is the same path as a LangChain runnable (question in, ``Answer`` out), so
another retriever, callbacks or tracing plug in; ``ask`` adds input checks and per-step timings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableParallel, RunnablePassthrough

from newsdesk.dates import parse_day, parse_until
from newsdesk.index.filters import UnknownOutlet
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.checks import question_problem
from newsdesk.rag.types import Answer
from newsdesk.rag.verify import reconcile


@dataclass
class NewsdeskQA:
    """Question answering over the index.

    Args:
        retriever: any LangChain retriever whose documents carry Newsdesk's citation metadata.
        answerer: composes the cited answer.
        max_question_chars: longest accepted question. Default: 1000.
    """

    retriever: BaseRetriever
    answerer: ExtractiveAnswerer
    max_question_chars: int = 1000

    @property
    def chain(self) -> Runnable[str, Answer]:
        """question -> {question, documents} -> Answer, as LangChain runnables."""
        gather: Runnable[str, dict[str, object]] = RunnableParallel(
            question=RunnablePassthrough(), documents=self.retriever
        )
        return gather | self.answerer.as_runnable() | reconcile

    def ask(
        self,
        question: str,
        source: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        """Answer one question; bad input gets a helpful message with ``abstained`` set.

        ``source`` keeps only those outlets (any case; a story stored once for several outlets counts
        for each), and an outlet the index does not hold is said so; ``since``/``until`` (YYYY-MM-DD,
        YYYY-MM or YYYY) bound the published date.
        """
        started = time.perf_counter()
        problem = question_problem(question, self.max_question_chars) or filter_problem(since, until)
        if problem is not None:
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(
                question=question[: self.max_question_chars],
                answer=problem,
                abstained=True,
                timings_ms={"retrieve": 0.0, "answer": 0.0, "total": elapsed},
            )
        text = question.strip()
        filters: dict[str, Any] = {"source": list(source or []), "since": since, "until": until}
        try:
            documents = self.retriever.invoke(text, None, **{k: v for k, v in filters.items() if v})
        except UnknownOutlet as error:  # not "the articles do not say": no article is from there
            return Answer(
                question=text,
                answer=str(error),
                abstained=True,
                timings_ms={"retrieve": 0.0, "answer": 0.0, "total": (time.perf_counter() - started) * 1000},
            )
        retrieved = time.perf_counter()
        answer = reconcile(self.answerer.answer(text, documents))
        done = time.perf_counter()
        answer.timings_ms = {
            "retrieve": (retrieved - started) * 1000,
            "answer": (done - retrieved) * 1000,
            "total": (done - started) * 1000,
        }
        return answer


def filter_problem(since: str | None, until: str | None) -> str | None:
    """A message for a malformed date filter, else None."""
    try:
        first = parse_day(since) if since else None
        last = parse_until(until) if until else None
    except ValueError as error:
        return f"Please check the dates: {error}."
    if first is not None and last is not None and first > last:
        return f"The date range is empty: {since} is after {until}."
    return None
