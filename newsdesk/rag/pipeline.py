"""The read path as one object: check the question, retrieve, answer, verify, with timings.

``NewsdeskQA.chain`` is the same path as a LangChain runnable (question in, ``Answer`` out), so
another retriever, callbacks or tracing plug in; ``ask`` adds input checks and per-step timings,
reads a follow-up in the light of the conversation (``history``), and ``stream`` shows the answer
as a language model writes it (``newsdesk.rag.llm``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableParallel, RunnablePassthrough

from newsdesk.config import MAX_K
from newsdesk.dates import parse_day, parse_until
from newsdesk.index.filters import UnknownOutlet
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.checks import question_problem
from newsdesk.rag.llm.conversation import turn
from newsdesk.rag.llm.followup import HistoryItem, Rewriter
from newsdesk.rag.llm.generate import GenerativeAnswerer, final_of
from newsdesk.rag.types import Answer
from newsdesk.rag.verify import reconcile

AnswerMode = Literal["extractive", "generated"]
"""Who writes an answer, per question: ``extractive`` quotes the articles (no model is asked, for the
follow-up either); ``generated`` lets the configured language model write it (the default; without a
model it is extractive)."""
ANSWER_MODES: tuple[str, ...] = get_args(AnswerMode)


@dataclass
class NewsdeskQA:
    """Question answering over the index.

    Args:
        retriever: any LangChain retriever whose documents carry Newsdesk's citation metadata.
        answerer: composes the cited answer.
        max_question_chars: longest accepted question. Default: 1000.
        generator: a language model's answers, checked against the passages, with ``answerer`` as
            the abstention gate and fallback (``NEWSDESK_LLM``). Default: none (extractive only).
        rewriter: rewrites a follow-up question to stand alone. Default: the heuristic alone.
    """

    retriever: BaseRetriever
    answerer: ExtractiveAnswerer
    max_question_chars: int = 1000
    generator: GenerativeAnswerer | None = None
    rewriter: Rewriter = field(default_factory=Rewriter)

    @property
    def chain(self) -> Runnable[str, Answer]:
        """question -> {question, documents} -> Answer, as LangChain runnables."""
        gather: Runnable[str, dict[str, object]] = RunnableParallel(
            question=RunnablePassthrough(), documents=self.retriever
        )
        answer = self.answerer if self.generator is None else self.generator
        return gather | answer.as_runnable() | reconcile

    def ask(
        self,
        question: str,
        source: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        history: Sequence[HistoryItem] | None = None,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Answer:
        """Answer one question; bad input gets a helpful message with ``abstained`` set.

        ``source`` keeps only those outlets (any case; a story stored once for several outlets counts
        for each), and an outlet the index does not hold is said so; ``since``/``until`` (YYYY-MM-DD,
        YYYY-MM or YYYY) bound the published date. ``history`` holds the conversation so far, oldest
        first (``{"role": "user"|"assistant", "content": ...}`` messages, LangChain messages or
        (question, answer) pairs): a follow-up is rewritten to stand alone first
        (``Answer.standalone_question``). ``as_of`` (YYYY-MM-DD) is the day the question is asked on:
        "this week", "yesterday", "last month" count back from it (default: the newest article's day).
        ``k`` is the passages retrieved for this question (default: the retriever's, ``NEWSDESK_K``);
        ``mode`` who writes the answer (``AnswerMode``).
        """
        return final_of(
            self._turn(question, source, since, until, history, stream=False, as_of=as_of, k=k, mode=mode)
        )

    def stream(
        self,
        question: str,
        source: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        history: Sequence[HistoryItem] | None = None,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Iterator[str | Answer]:
        """``ask``, streamed: text deltas to show as they come, then the final ``Answer``.

        A model's words stream with no dangling or invalid ``[n]``; the final answer (checked, with
        its sources) replaces the streamed text. Without a model the whole answer is one delta.
        """
        yield from self._turn(
            question, source, since, until, history, stream=True, as_of=as_of, k=k, mode=mode
        )

    def _turn(
        self,
        question: str,
        source: Sequence[str] | None,
        since: str | None,
        until: str | None,
        history: Sequence[HistoryItem] | None,
        stream: bool,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        problem = (
            question_problem(question, self.max_question_chars)
            or filter_problem(since, until)
            or as_of_problem(as_of)
            or options_problem(k, mode)
        )
        if problem is not None:
            elapsed = (time.perf_counter() - started) * 1000
            if stream:
                yield problem
            yield Answer(
                question=question[: self.max_question_chars],
                answer=problem,
                abstained=True,
                timings_ms={"retrieve": 0.0, "answer": 0.0, "total": elapsed},
            )
            return
        filters: dict[str, Any] = {
            "source": list(source or []),
            "since": since,
            "until": until,
            "as_of": as_of,
            "k": k,
        }

        def retrieve(text: str) -> list[Document]:
            return self.retriever.invoke(text, None, **{name: v for name, v in filters.items() if v})

        generator = None if mode == "extractive" else self.generator
        try:
            yield from turn(
                question.strip(),
                history,
                retrieve,
                self.answerer,
                generator,
                self.rewriter if generator is not None else Rewriter(None, self.rewriter.limit),
                stream,
                started,
            )
        except UnknownOutlet as error:  # not "the articles do not say": no article is from there
            elapsed = (time.perf_counter() - started) * 1000
            refusal = Answer(
                question=question.strip(),
                answer=str(error),
                abstained=True,
                timings_ms={"retrieve": 0.0, "answer": 0.0, "total": elapsed},
            )
            if stream:
                yield refusal.answer
            yield refusal


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


def options_problem(k: Any, mode: Any) -> str | None:
    """A message for a number of passages or an answer mode that is not one, else None."""
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
        return f"Please ask for between 1 and {MAX_K} passages per answer."
    if mode is not None and mode not in ANSWER_MODES:
        return f"The answer mode is one of {', '.join(ANSWER_MODES)}."
    return None


def as_of_problem(as_of: str | None) -> str | None:
    """A message for a malformed ``as_of`` day (it must be a whole day, YYYY-MM-DD), else None."""
    if not as_of:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of.strip()):
        return f"Please check the day the question is asked on: '{as_of}' is not YYYY-MM-DD."
    try:
        parse_day(as_of.strip())
    except ValueError as error:
        return f"Please check the day the question is asked on: {error}."
    return None
