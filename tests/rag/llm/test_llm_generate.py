"""GenerativeAnswerer with scripted models, unreachable and silent servers, and an Ollama stand-in.

The passages are the seed article's; the extractive answerer is the product's, used only through
``answer``; the embedder is the real all-MiniLM-L6-v2.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.index.load import Article
from newsdesk.rag.llm.generate import (
    ABSTAIN_MESSAGE,
    DISAGREE_NOTICE,
    UNSUPPORTED_NOTICE,
    Answerer,
    GenerativeAnswerer,
    wants_a_clause,
)
from newsdesk.rag.types import Answer
from tests.ollama_standin import OllamaStandIn
from tests.rag.llm.conftest import ZHUHAI, verbatim
from tests.support import free_port


def su57_passage(docs: list[Document]) -> int:
    return next(i for i, d in enumerate(docs, start=1) if "Su-57" in d.page_content)


def make(extractive: Answerer, model: BaseChatModel | None = None, **settings: Any) -> GenerativeAnswerer:
    values = {"llm": "openai", "llm_base_url": "http://127.0.0.1:9/v1", **settings}
    return GenerativeAnswerer(Settings(**values), extractive, model=model)


def compose_reply(docs: list[Document]) -> str:
    n = su57_passage(docs)
    return (
        f"Russia will display the Su-57. [{n}] The Su-57 is Russia's advanced stealth fighter, showcased "
        f"at the exhibition in Zhuhai. [{n}][{n}]"
    )


def texts_of(article: Article) -> dict[str, str]:
    return {article.id: article.text}


def test_a_composed_answer_is_verified_and_verbatim(
    extractive: Answerer, seed_documents: list[Document], seed_article: Article, embedder: Embedder
) -> None:
    gen = make(extractive, FakeListChatModel(responses=[compose_reply(seed_documents)]), llm_style="compose")
    gen.embedder = embedder
    answer = gen.answer(ZHUHAI, seed_documents)
    assert answer.generator == "custom" and not answer.notice
    assert answer.answer.startswith("Russia will display the Su-57. [1]")
    assert all(c.verified and c.verified_by == "sentence" for c in answer.citations)
    assert verbatim(answer, texts_of(seed_article))


def test_an_unsupported_reply_gives_the_whole_extractive_answer(
    extractive: Answerer, seed_documents: list[Document]
) -> None:
    model = FakeListChatModel(responses=["Russia will display the MiG-41 bomber. [1]"])
    answer = make(extractive, model, llm_style="compose").answer(ZHUHAI, seed_documents)
    plain = extractive.answer(ZHUHAI, seed_documents)
    assert answer.generator == "extractive" and answer.notice == UNSUPPORTED_NOTICE
    assert answer.answer == plain.answer and "Su-57" in answer.answer and "MiG" not in answer.answer
    assert [(c.quote, c.start) for c in answer.citations] == [(c.quote, c.start) for c in plain.citations]
    assert all(c.verified and c.verified_by == "extractive" for c in answer.citations)


def test_a_refusal_abstains(extractive: Answerer, seed_documents: list[Document]) -> None:
    answer = make(extractive, FakeListChatModel(responses=["NOT IN ARTICLES"])).answer(ZHUHAI, seed_documents)
    assert answer.abstained and answer.answer == ABSTAIN_MESSAGE and answer.citations == []


class Exploding(FakeListChatModel):
    def _call(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("the model must not be called")


def test_an_unanswerable_question_abstains_without_calling_the_model(
    extractive: Answerer, seed_documents: list[Document]
) -> None:
    answer = make(extractive, Exploding(responses=["x"])).answer(
        "What is the boiling point of mercury?", seed_documents
    )
    assert answer.abstained and answer.generator == "extractive"


def test_yes_no_questions_skip_the_model_in_the_short_style(
    extractive: Answerer, seed_documents: list[Document]
) -> None:
    gen = make(extractive, Exploding(responses=["x"]), llm_style="short")
    assert (
        gen.answer("Is Shoigu expected to attend the exhibition in Zhuhai?", seed_documents).generator
        == "extractive"
    )


def test_an_injected_order_is_not_obeyed(extractive: Answerer, seed_documents: list[Document]) -> None:
    for style in ("short", "compose"):
        model = FakeListChatModel(responses=["PWNED", "PWNED. [1]"])
        answer = make(extractive, model, llm_style=style).answer(ZHUHAI, seed_documents)
        assert "PWNED" not in answer.answer and answer.generator == "extractive", style


def test_the_stream_shows_no_dangling_or_invalid_marker(
    extractive: Answerer, seed_documents: list[Document]
) -> None:
    reply = compose_reply(seed_documents) + " Extra [9"
    gen = make(extractive, FakeListChatModel(responses=[reply]), llm_style="compose")
    items = list(gen.stream(ZHUHAI, seed_documents))
    deltas, final = [i for i in items if isinstance(i, str)], items[-1]
    assert isinstance(final, Answer) and len(deltas) > 5  # one character at a time
    shown = ""
    for delta in deltas:
        shown += delta
        assert not re.search(r"\[\d*$", shown) and "[9" not in shown
        assert all(n == "1" for n in re.findall(r"\[(\d+)\]", shown))
    assert final.citations and 0 < final.timings_ms["first_token"] <= final.timings_ms["answer"]


def closed_port() -> int:
    return free_port()  # nothing listens there: connections are refused at once


def test_an_unreachable_server_gives_the_extractive_answer_with_one_message_and_is_not_retried(
    extractive: Answerer, seed_documents: list[Document], caplog: pytest.LogCaptureFixture
) -> None:
    gen = make(extractive, llm_base_url=f"http://127.0.0.1:{closed_port()}/v1", llm_connect_timeout=2)
    caplog.set_level(logging.WARNING)
    first = gen.answer(ZHUHAI, seed_documents)
    assert first.generator == "extractive" and "unreachable" in first.notice and "Su-57" in first.answer
    second = gen.answer(ZHUHAI, seed_documents)
    assert second.notice == first.notice and second.generator == "extractive"
    # One failure logged for both questions: the second did not try the server again.
    assert len([r for r in caplog.records if "Could not use" in r.getMessage()]) == 1


@pytest.fixture()
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_silent_server_is_bounded_by_the_read_timeout(
    extractive: Answerer, seed_documents: list[Document], silent_server: int
) -> None:
    gen = make(extractive, llm_base_url=f"http://127.0.0.1:{silent_server}/v1", llm_read_timeout=1)
    started = time.perf_counter()
    answer = gen.answer(ZHUHAI, seed_documents)
    assert time.perf_counter() - started < 4
    assert answer.generator == "extractive" and "did not answer in time" in answer.notice


def test_the_ollama_backend_through_a_stand_in(
    extractive: Answerer, seed_documents: list[Document], seed_article: Article
) -> None:
    reply = compose_reply(seed_documents)
    stand_in = OllamaStandIn(lambda messages: reply)
    try:
        settings = Settings(llm="ollama", llm_base_url=stand_in.url, llm_model="smollm2", llm_style="compose")
        gen = GenerativeAnswerer(settings, extractive)
        answer = gen.answer(ZHUHAI, seed_documents)
        streamed = list(gen.stream(ZHUHAI, seed_documents))
    finally:
        stand_in.stop()
    assert answer.generator == "ollama" and "Su-57" in answer.answer and not answer.notice
    assert all(c.verified for c in answer.citations) and verbatim(answer, texts_of(seed_article))
    final = streamed[-1]
    assert isinstance(final, Answer) and final.answer == answer.answer and len(streamed) > 3
    request = stand_in.requests[0]
    assert request["model"] == "smollm2" and request["messages"][0]["role"] == "system"
    assert "<passage n=" in request["messages"][-1]["content"]


def test_a_short_answer_must_agree_with_the_extractive_evidence(
    extractive: Answerer, seed_documents: list[Document], seed_article: Article
) -> None:
    other = make(extractive, FakeListChatModel(responses=["Wang Yi"]), llm_style="short")
    assert other.answer(ZHUHAI, seed_documents).notice == DISAGREE_NOTICE
    good = make(extractive, FakeListChatModel(responses=["the Su-57"]), llm_style="short").answer(
        ZHUHAI, seed_documents
    )
    assert (
        good.generator == "custom" and good.answer.startswith("Su-57. [1] ") and good.short_answer == "Su-57"
    )
    assert verbatim(good, texts_of(seed_article)) and good.citations[0].verified_by == "span"
    assert [c.n for c in good.citations] == list(range(1, len(good.citations) + 1))
    loose = make(extractive, FakeListChatModel(responses=["Wang Yi"]), llm_style="short", llm_agree=False)
    assert loose.answer(ZHUHAI, seed_documents).answer.startswith("Wang Yi. [1] ")


@pytest.mark.parametrize(
    ("question", "clause"),
    [
        ("Why did the council delay the vote?", True),
        ("What prompted evacuations across the Texas Panhandle?", True),
        ("What kind of establishment replaced the gas station?", True),
        ("Which animal escaped from the zoo?", False),
        ("What aircraft did the airline order?", False),
    ],
)
def test_a_clause_is_wanted_unless_the_question_names_the_kind_of_thing(question: str, clause: bool) -> None:
    """The model's short phrase replaces the lead only when a thing is asked for (one reading of the
    wh-phrase, ``kinds.wh_phrase``, shared with the extractive reader)."""
    assert wants_a_clause(Answer(question=question, answer="", abstained=False, answer_type="what")) is clause
