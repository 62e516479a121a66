"""The read path as the app's visitors get it: each answer counted in the metrics, and shown without
the server's paths unless the operator allows them (``NEWSDESK_SHOW_PATHS``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from newsdesk.rag.pipeline import AnswerMode, NewsdeskQA
from newsdesk.rag.types import Answer
from newsdesk.ui.guard import Guards
from newsdesk.ui.observe import AppMetrics
from newsdesk.ui.public import public_answer
from newsdesk.wiring import Newsdesk


@dataclass(frozen=True)
class ServedQA:
    """``NewsdeskQA.ask`` and ``stream`` for a visitor: the final answer observed, then made public."""

    qa: NewsdeskQA
    metrics: AppMetrics
    show_paths: bool = False

    def ask(
        self,
        question: str,
        source: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        history: Any = None,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Answer:
        started = time.perf_counter()
        answer = self.qa.ask(question, source, since, until, history=history, as_of=as_of, k=k, mode=mode)
        return self._served(answer, started)

    def stream(
        self,
        question: str,
        source: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        history: Any = None,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        asked = self.qa.stream(question, source, since, until, history=history, as_of=as_of, k=k, mode=mode)
        for item in asked:
            yield self._served(item, started) if isinstance(item, Answer) else item

    def _served(self, answer: Answer, started: float) -> Answer:
        self.metrics.observe(answer, time.perf_counter() - started)
        return answer if self.show_paths else public_answer(answer)


def served_qa(desk: Newsdesk, guards: Guards) -> ServedQA:
    """The visitors' read path over ``desk``, counted in ``guards``' metrics."""
    return ServedQA(desk.qa, guards.metrics, desk.settings.show_paths)
