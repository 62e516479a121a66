"""One turn of a conversation: rewrite the follow-up, retrieve, answer (or stream), reconcile.

``NewsdeskQA.ask`` and ``NewsdeskQA.stream`` run every checked question through ``turn``, with or
without a history and with or without a language model. The final ``Answer`` carries
``standalone_question`` (the rewritten question, which the chat shows, when it differs from what
the user typed) and the timings of each step: ``rewrite`` (with a history), ``retrieve``,
``answer``, ``total``, and with a model ``llm``, ``verify`` and, when streamed, ``first_token``
(time until the first text could be shown).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence

from langchain_core.documents import Document

from newsdesk.rag.llm.followup import HistoryItem, Rewrite, Rewriter
from newsdesk.rag.llm.generate import Answerer, GenerativeAnswerer
from newsdesk.rag.types import Answer
from newsdesk.rag.verify import reconcile

MAX_HISTORY_MESSAGES = 40
"""Most messages of a history read (the rewriter uses only the last few turns of them)."""
MAX_MESSAGE_CHARS = 4000
"""Longest history message read; longer ones are cut (an answer with its sources is shorter)."""


def bounded(history: Sequence[HistoryItem] | None) -> list[HistoryItem]:
    """The last ``MAX_HISTORY_MESSAGES`` items of a history, long dict messages cut."""
    items = list(history or [])[-MAX_HISTORY_MESSAGES:]
    return [
        {**item, "content": str(item.get("content", ""))[:MAX_MESSAGE_CHARS]}
        if isinstance(item, dict)
        else item
        for item in items
    ]


def turn(
    question: str,
    history: Sequence[HistoryItem] | None,
    retrieve: Callable[[str], list[Document]],
    answerer: Answerer,
    generator: GenerativeAnswerer | None,
    rewriter: Rewriter,
    stream: bool,
    started: float | None = None,
) -> Iterator[str | Answer]:
    """Answer ``question`` (already checked) in the light of ``history`` (oldest turn first).

    Yields text deltas when ``stream`` (at least one: the whole answer when nothing was streamed),
    then the final, reconciled ``Answer``. Without ``stream`` only the ``Answer``.
    """
    started = time.perf_counter() if started is None else started
    history = bounded(history)
    rewrite = rewriter.rewrite(question, history) if history else Rewrite(question, question, "none")
    rewritten = time.perf_counter()
    documents = retrieve(rewrite.standalone)
    retrieved = time.perf_counter()
    if generator is not None:
        parts: Iterator[str | Answer] = (
            generator.stream(rewrite.standalone, documents, history)
            if stream
            else iter([generator.answer(rewrite.standalone, documents, history)])
        )
    else:
        parts = iter([answerer.answer(rewrite.standalone, documents)])
    shown = False
    for item in parts:
        if not isinstance(item, Answer):
            shown = True
            yield item
            continue
        final = reconcile(item)
        done = time.perf_counter()
        timings = {"rewrite": (rewritten - started) * 1000} if history else {}
        timings |= {
            "retrieve": (retrieved - rewritten) * 1000,
            **{k: v for k, v in item.timings_ms.items() if k not in ("answer", "first_token")},
            "answer": (done - retrieved) * 1000,
            "total": (done - started) * 1000,
        }
        if "first_token" in item.timings_ms:
            timings["first_token"] = item.timings_ms["first_token"] + (retrieved - started) * 1000
        elif stream:
            timings["first_token"] = timings["total"]
        final = dataclasses.replace(
            final,
            question=question,
            standalone_question=rewrite.standalone if rewrite.changed else "",
            timings_ms=timings,
        )
        if stream and not shown and final.answer:
            yield final.answer  # nothing was streamed: the whole answer, at once
        yield final
