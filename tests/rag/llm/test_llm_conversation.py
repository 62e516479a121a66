"""Conversations through ``NewsdeskQA`` over a real index of the seeds: follow-ups, streaming, fallback."""

from __future__ import annotations

import re
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.index.load import load_paths
from newsdesk.rag.llm.followup import Rewriter
from newsdesk.rag.llm.generate import GenerativeAnswerer
from newsdesk.rag.types import Answer
from tests.conftest import SEED_ARTICLE
from tests.rag.llm.conftest import ZHUHAI, desk_of
from tests.support import free_port

SEED_TEXT = load_paths([SEED_ARTICLE]).articles[0].text
FIRST = "Who is China hosting for security talks?"
FOLLOW_UP = "What will he see in Zhuhai?"


def verbatim(answer: Answer) -> bool:
    """Every quote is the seed article's text at its offsets."""
    return bool(answer.citations) and all(SEED_TEXT[c.start : c.end] == c.quote for c in answer.citations)


def test_ask_without_history_is_unchanged(seed_index: Path, embedder: Embedder) -> None:
    answer = desk_of(seed_index, embedder).qa.ask(FIRST)
    assert "Shoigu" in answer.answer and not answer.abstained
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
    assert answer.generator == "extractive" and not answer.standalone_question and not answer.notice
    assert answer.question == FIRST and all(c.verified is None for c in answer.citations)


def test_a_follow_up_is_rewritten_then_answered(seed_index: Path, embedder: Embedder) -> None:
    qa = desk_of(seed_index, embedder).qa
    first = qa.ask(FIRST)
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.answer}]
    second = qa.ask(FOLLOW_UP, history=history)
    assert second.question == FOLLOW_UP
    assert second.standalone_question == "What will Shoigu see in Zhuhai?"
    assert "Su-57" in second.answer and verbatim(second)
    assert set(second.timings_ms) == {"rewrite", "retrieve", "answer", "total"}
    pairs = qa.ask(FOLLOW_UP, history=[(FIRST, first.answer)])
    assert pairs.standalone_question == second.standalone_question


def test_a_long_history_is_bounded(seed_index: Path, embedder: Embedder) -> None:
    qa = desk_of(seed_index, embedder).qa
    noise = [
        {"role": "user", "content": "x" * 100_000},
        {"role": "assistant", "content": "y" * 100_000},
    ] * 500
    history = [
        *noise,
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": "Sergei Shoigu. [1]"},
    ]
    answer = qa.ask(FOLLOW_UP, history=history)
    assert "Shoigu" in answer.standalone_question


def test_the_extractive_stream_is_the_whole_answer_then_the_answer(
    seed_index: Path, embedder: Embedder
) -> None:
    items = list(desk_of(seed_index, embedder).qa.stream(FIRST))
    assert len(items) == 2 and isinstance(items[1], Answer) and items[0] == items[1].answer
    assert items[1].timings_ms["first_token"] == items[1].timings_ms["total"]


def test_bad_questions_stream_their_message(seed_index: Path, embedder: Embedder) -> None:
    text, answer = list(desk_of(seed_index, embedder).qa.stream("   "))
    assert isinstance(answer, Answer) and answer.abstained and text == answer.answer


def test_a_generated_stream_never_shows_a_bad_marker_and_ends_with_checked_citations(
    seed_index: Path, embedder: Embedder
) -> None:
    desk = desk_of(seed_index, embedder)
    qa = desk.qa
    documents = qa.retriever.invoke(ZHUHAI)
    n = next(i for i, d in enumerate(documents, start=1) if "Su-57" in d.page_content)
    bad = len(documents) + 4
    reply = f"Russia will display the Su-57 [{n}][{n}]. It is an advanced stealth fighter [{n}] [{bad}"
    settings = Settings(llm="openai", llm_base_url="http://127.0.0.1:9/v1", llm_style="compose")
    model = FakeListChatModel(responses=[reply])
    qa.generator = GenerativeAnswerer(settings, qa.answerer, embedder=embedder, model=model)
    items = list(qa.stream(ZHUHAI))
    shown = ""
    for item in items[:-1]:
        assert isinstance(item, str)
        shown += item
        assert not re.search(r"\[\d*$", shown) and set(re.findall(r"\[(\d+)\]", shown)) <= {"1"}
    final = items[-1]
    assert (
        isinstance(final, Answer) and final.generator == "custom" and final.answer.startswith("Russia will")
    )
    assert all(c.verified for c in final.citations) and verbatim(final)
    assert 0 < final.timings_ms["first_token"] <= final.timings_ms["total"]
    assert {"llm", "verify"} <= set(final.timings_ms)
    chained = qa.chain.invoke(ZHUHAI)  # the runnable takes the same path
    assert chained.generator in ("custom", "extractive")


def test_an_unreachable_model_gives_one_notice_and_the_extractive_answer(
    seed_index: Path, embedder: Embedder
) -> None:
    desk = desk_of(seed_index, embedder, llm="openai", llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    qa = desk.qa
    assert isinstance(qa.generator, GenerativeAnswerer) and isinstance(qa.rewriter, Rewriter)
    first = qa.ask(FIRST)
    second = qa.ask(FOLLOW_UP, history=[(FIRST, first.answer)])
    assert first.generator == second.generator == "extractive" and "Shoigu" in first.answer
    assert "unreachable" in first.notice and second.notice == first.notice
    assert second.standalone_question == "What will Shoigu see in Zhuhai?" and "Su-57" in second.answer


def test_the_extractive_setting_builds_no_generator(seed_index: Path, embedder: Embedder) -> None:
    qa = desk_of(seed_index, embedder).qa
    assert qa.generator is None and qa.rewriter.model is None
