"""GenerativeAnswerer: (question, passages, history) -> a verified, cited ``Answer``; or streamed.

The extractive answerer runs first (it is cheap: no model call), through its one public call
``answer(question, documents)``, and decides two things: whether to abstain (its ``abstained`` gates
the model, so "not in the articles" means the same with or without a model), and the fallback
answer (the whole extractive ``Answer``). Then:

* ``compose`` style: the model writes a short cited answer; the citation processor keeps the
  sentences their passages support (``strict``) or flags the others (``mark``).
* ``short`` style (small models): the model names the short answer only; it is accepted when it
  matches a passage span and (``llm_agree``, default) agrees with the extractive lead
  (``agrees_with``); the answer is that phrase as its lead sentence, cited to the sentence holding it,
  then the extractive answer's sentences (without ``llm_agree``: then the sentence holding it).
  Yes/no questions skip the model (a bare yes/no cannot be checked against a span).

The model saying the passages do not answer makes the answer abstain. Anything else that leaves no
verified sentence, and any error of the backend (unreachable, timeout, HTTP error), gives the
extractive answer with a ``notice``; after an error the backend is skipped for
``llm_retry_seconds``, so an unreachable server costs one connect timeout, not one per question.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda

from newsdesk.config import Settings
from newsdesk.rag.answer.kinds import wh_phrase
from newsdesk.rag.llm.backends import BackendUnavailable, chat_model, describe, token_limit
from newsdesk.rag.llm.citations import Processed, process, short_answer
from newsdesk.rag.llm.followup import HistoryItem, turns_of
from newsdesk.rag.llm.prompt import answer_messages, is_refusal
from newsdesk.rag.llm.stream import MarkerFilter
from newsdesk.rag.llm.support import ShortAnswer, SupportChecker, passages_of
from newsdesk.rag.llm.words import is_yes_no
from newsdesk.rag.types import Answer, Citation
from newsdesk.reading.markers import sentences_with_markers
from newsdesk.text import normalize

log = logging.getLogger("newsdesk.llm")

SHORT_MAX_TOKENS = 48
"""A short answer needs no more; a small model that rambles is cut off here."""
ABSTAIN_MESSAGE = "The indexed articles do not answer this question."
DISAGREE_NOTICE = "The model's short answer was not in the best evidence; this is the extractive answer."
UNSUPPORTED_NOTICE = "The model's answer was not supported by the articles; this is the extractive answer."

Style = Literal["compose", "short"]


class Answerer(Protocol):
    """What the generated path needs of the extractive answerer: its answer, nothing else."""

    def answer(self, question: str, documents: Sequence[Document]) -> Answer: ...


def style_of(settings: Settings) -> Style:
    """The answer style in force: ``auto`` is ``short`` for the local model, ``compose`` otherwise."""
    if settings.llm_style != "auto":
        return settings.llm_style
    return "short" if settings.llm == "local" else "compose"


def passages_for(settings: Settings, style: Style) -> int | None:
    """How many passages the model sees (None: all)."""
    if settings.llm_passages is not None:
        return settings.llm_passages
    return 3 if style == "short" else None


class GenerativeAnswerer:
    """Answers with a language model, every sentence checked against the passage it cites.

    Args:
        settings: backend, style, citation mode, timeouts (the ``llm_*`` settings), and
            ``max_answer_sentences`` (sentences the compose style asks for and keeps).
        fallback: the extractive answerer (abstention gate and fallback answer).
        embedder: LangChain ``Embeddings`` for the support check's second signal; None: words only.
        model: a chat model to use instead of the one ``settings`` names (tests, custom models).
    """

    def __init__(
        self,
        settings: Settings,
        fallback: Answerer,
        embedder: Embeddings | None = None,
        model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.fallback = fallback
        self.embedder = embedder
        self.max_sentences = settings.max_answer_sentences
        self._model = model
        self._name = settings.llm if model is None else "custom"
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.last_error = ""

    @property
    def name(self) -> str:
        """The backend's name as reported in ``Answer.generator`` (``custom`` for a given model)."""
        return self._name

    def chat_model(self) -> BaseChatModel:
        """The chat model, built (and for ``local``, started) on first use."""
        with self._lock:
            if self._model is None:
                self._model = chat_model(self.settings)
            return self._model

    def available_model(self) -> BaseChatModel:
        """The chat model unless it failed within ``llm_retry_seconds`` (then ``BackendUnavailable``)."""
        if time.monotonic() < self._down_until:
            raise BackendUnavailable(self.last_error)
        return self.chat_model()

    # ----------------------------------------------------------------- public

    def answer(
        self, question: str, documents: Sequence[Document], history: Sequence[HistoryItem] = ()
    ) -> Answer:
        """The answer, generated and verified, or the extractive one (see the module docstring)."""
        return final_of(self._run(question, documents, history, stream=False))

    def stream(
        self, question: str, documents: Sequence[Document], history: Sequence[HistoryItem] = ()
    ) -> Iterator[str | Answer]:
        """Text deltas to show as they come (markers filtered), then the final ``Answer``.

        The final answer replaces the streamed text: in ``strict`` mode it may have fewer sentences,
        and its citations (with verbatim quotes) are attached only there. Only the compose style
        streams the model's words; otherwise (short style, extractive answer) no delta comes and
        the final answer is shown whole.
        """
        yield from self._run(question, documents, history, stream=True)

    def as_runnable(self) -> Runnable[dict[str, object], Answer]:
        """A LangChain runnable taking ``{"question": str, "documents": list[Document]}``."""

        def run(inputs: dict[str, object]) -> Answer:
            documents = inputs["documents"]
            assert isinstance(documents, list)
            return self.answer(str(inputs["question"]), documents)

        return RunnableLambda(run, name="GenerativeAnswerer")

    def rewrite_failed(self, error: Exception) -> None:
        """A follow-up rewrite failed: the same as a failed answer, unless the backend is resting."""
        if time.monotonic() >= self._down_until:
            self.failed(error)

    def failed(self, error: Exception) -> str:
        """Remember a backend failure (skip the backend for a while) and word it once for the user."""
        reason = _reason(error)
        where = describe(self.settings) if self.name != "custom" else "the language model"
        notice = f"Could not use {where} ({reason}); this is the extractive answer."
        first = time.monotonic() >= self._down_until
        self._down_until = time.monotonic() + self.settings.llm_retry_seconds
        self.last_error = notice
        if first:
            log.warning("newsdesk: %s", notice)
        return notice

    # ----------------------------------------------------------------- steps

    def _run(
        self, question: str, documents: Sequence[Document], history: Sequence[HistoryItem], stream: bool
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        style = style_of(self.settings)
        extractive = self.fallback.answer(question, documents)
        if extractive.abstained or not documents:
            yield from self._final(extractive, "extractive", "", started)
            return
        if style == "short" and (is_yes_no(question) or extractive.answer_type == "yesno"):
            yield from self._final(extractive, "extractive", "", started)
            return
        if time.monotonic() < self._down_until:
            yield from self._final(extractive, "extractive", self.last_error, started)
            return
        documents = list(documents)[: passages_for(self.settings, style)]
        messages = answer_messages(question, documents, style, turns_of(history, 2), self.max_sentences)
        reply: list[str] = []
        timings: dict[str, float] = {}
        shown = MarkerFilter(len(documents)) if stream and style == "compose" else None
        try:
            model = self.chat_model()
            asked = time.perf_counter()
            limit = token_limit(model, SHORT_MAX_TOKENS) if style == "short" else {}
            if stream:
                for chunk in model.stream(messages, **limit):
                    piece = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
                    reply.append(piece)
                    if shown is not None and (visible := shown.feed(piece)):
                        timings.setdefault("first_token", (time.perf_counter() - started) * 1000)
                        yield visible
                if shown is not None and (tail := shown.finish()):
                    timings.setdefault("first_token", (time.perf_counter() - started) * 1000)
                    yield tail
            else:
                message = model.invoke(messages, **limit)
                reply.append(message.text if isinstance(message.text, str) else str(message.content))
            timings["llm"] = (time.perf_counter() - asked) * 1000
        except Exception as error:  # any backend failure: one clear message, the extractive answer
            notice = self.failed(error)
            fallback = dataclasses.replace(extractive, timings_ms={**extractive.timings_ms, **timings})
            yield from self._final(fallback, "extractive", notice, started)
            return
        text = "".join(reply)
        log.debug("reply of %s to %r: %r", self.name, question, text)
        checked = time.perf_counter()
        result = self._conclude(question, documents, text, style, extractive)
        timings["verify"] = (time.perf_counter() - checked) * 1000
        result.timings_ms.update(timings)
        yield from self._final(result, result.generator, result.notice, started)

    def _conclude(
        self, question: str, documents: Sequence[Document], reply: str, style: Style, extractive: Answer
    ) -> Answer:
        """The generated answer from the model's reply, or the extractive one with a notice."""
        backend = self.name
        if is_refusal(reply) or not reply.strip():
            return Answer(question=question, answer=ABSTAIN_MESSAGE, abstained=True, generator=backend)
        passages = passages_of(documents)
        checker = SupportChecker(question, passages, self.embedder)
        processed: Processed | None
        if style == "short":
            found = checker.short_answer(reply)
            if found is not None and self.settings.llm_agree:
                if not agrees_with(found, extractive):
                    return with_generator(extractive, "extractive", DISAGREE_NOTICE)
                return lead_then_extractive(found, extractive, backend)
            processed = short_answer(found) if found is not None else None
        else:
            processed = process(reply, passages, checker, self.settings.llm_citations, self.max_sentences)
            if processed.empty or not processed.kept:
                processed = None
        if processed is None:
            return with_generator(extractive, "extractive", UNSUPPORTED_NOTICE)
        return Answer(
            question=question,
            answer=processed.text,
            abstained=False,
            citations=list(processed.citations),
            short_answer=processed.short_answer or stated_in(processed.text, extractive.short_answer),
            answer_type=extractive.answer_type,
            confidence=extractive.confidence,
            generator=backend,
        )

    def _final(self, answer: Answer, generator: str, notice: str, started: float) -> Iterator[Answer]:
        result = with_generator(answer, generator, notice)
        result.timings_ms = {**answer.timings_ms, "answer": (time.perf_counter() - started) * 1000}
        yield result


def final_of(items: Iterator[str | Answer]) -> Answer:
    """The final ``Answer`` of a stream of text deltas and one answer (the deltas are dropped)."""
    final: Answer | None = None
    for item in items:
        if isinstance(item, Answer):
            final = item
    assert final is not None, "a stream ends with its Answer"
    return final


def agrees_with(found: ShortAnswer, extractive: Answer) -> bool:
    """Whether the model's short answer agrees with the extractive answer's lead: it stands in a
    sentence that the lead cites, and it and the lead's own short answer overlap (one holds the other).

    A small model's phrase is a second opinion, not a replacement: measured on squad2-dev, SmolLM2's
    phrases taken from any quoted sentence lost the answer ten times for one gain (BENCHMARKS.md 7);
    for a "what ...?" question, which wants a clause, no phrase is taken.
    """
    lead = sentences_with_markers(extractive.answer)[:1]
    if not lead or wants_a_clause(extractive):
        return False  # "What was huihui?" wants a clause: a small model's phrase for it was mostly wrong
    cited = set(lead[0][1])
    passage = found.passage
    start = passage.base + passage.sentences[found.sentence][0]
    end = passage.base + passage.sentences[found.sentence][1]
    article = str(passage.document.metadata.get("article_id", ""))
    field = str(passage.document.metadata.get("field") or "text")
    if not any(
        c.n in cited and c.article_id == article and c.field == field and c.start < end and start < c.end
        for c in extractive.citations
    ):
        return False
    mine, theirs = normalize(found.text), normalize(extractive.short_answer or lead[0][0])
    return bool(mine) and (f" {mine} " in f" {theirs} " or f" {theirs} " in f" {mine} ")


def wants_a_clause(answer: Answer) -> bool:
    """Whether the question asks for a clause rather than a name, date or number: an untyped
    question ("What was huihui?", "Why ...?") with no "what/which NOUN" in it ("What aircraft ...?"
    asks for a name; "What kind of ...?" a description)."""
    phrase, described = wh_phrase(answer.question)
    return answer.answer_type in ("what", "") and (not phrase or described)


SHORT_ANSWER_WORDS = 6
"""An extractive lead this short is a phrase, not a sentence: the model's phrase replaces it."""


def lead_then_extractive(found: ShortAnswer, extractive: Answer, backend: str) -> Answer:
    """The short answer as the lead sentence, cited to its sentence, then the extractive sentences.

    An extractive lead that states its own short answer is replaced by the model's; citations of
    the extractive answer keep their quotes and are renumbered after the lead's.
    """
    lead = short_answer(found)
    first = lead.citations[0]
    phrase = lead.text.split(" [", 1)[0]
    citations: list[Citation] = [first]
    numbers: dict[tuple[str, str, int, int], int] = {
        (first.article_id, first.field, first.start, first.end): 1
    }
    by_n = {c.n: c for c in with_generator(extractive, "extractive").citations}
    parts = [f"{phrase} [1]"]
    sentences = sentences_with_markers(extractive.answer)
    if (
        sentences
        and extractive.short_answer
        and len(extractive.short_answer.split()) <= SHORT_ANSWER_WORDS
        and normalize(sentences[0][0]) == normalize(extractive.short_answer)
    ):
        sentences = sentences[1:]  # a lead that is only a phrase ("Yes.") gives way to the model's
    for sentence, cited in sentences:
        markers = []
        for old in cited:
            citation = by_n.get(old)
            if citation is None:
                continue
            key = (citation.article_id, citation.field, citation.start, citation.end)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(dataclasses.replace(citation, n=numbers[key]))
            markers.append(numbers[key])
        if markers:
            parts.append(sentence + "".join(f" [{n}]" for n in dict.fromkeys(markers)))
    return Answer(
        question=extractive.question,
        answer=" ".join(parts),
        abstained=False,
        citations=citations,
        short_answer=lead.short_answer,
        answer_type=extractive.answer_type,
        confidence=extractive.confidence,
        generator=backend,
    )


def stated_in(text: str, short: str) -> str:
    """``short`` when the first sentence of ``text`` states it, else empty."""
    first = sentences_with_markers(text)[:1]
    return short if short and first and normalize(short) in normalize(first[0][0]) else ""


def _reason(error: Exception) -> str:
    if isinstance(error, BackendUnavailable):
        return str(error)
    name = type(error).__name__
    text = str(error).splitlines()[0][:160] if str(error) else ""
    if "Timeout" in name or "timed out" in text.lower():
        return "it did not answer in time"
    if "Connect" in name or "connection" in text.lower():
        return "it is unreachable"
    return f"{name}: {text}" if text else name


def with_generator(answer: Answer, generator: str, notice: str = "") -> Answer:
    """A copy of ``answer`` made by ``generator``, with ``notice``; an extractive citation counts as
    verified (its quote is the sentence itself)."""
    citations = [
        c
        if c.verified is not None
        else dataclasses.replace(c, verified=True, support=1.0, verified_by="extractive")
        for c in answer.citations
    ]
    return dataclasses.replace(
        answer,
        citations=citations,
        timings_ms=dict(answer.timings_ms),
        generator=generator,
        notice=notice or answer.notice,
    )
