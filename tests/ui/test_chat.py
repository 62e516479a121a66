"""The chat's conversation and streaming, in process: the guards, follow-ups, and what is shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.rag.llm.generate import GenerativeAnswerer, final_of
from newsdesk.rag.types import Answer, Citation
from newsdesk.ui.chat import build_blocks, chat_messages, guarded, paced
from newsdesk.ui.guard import Guards
from newsdesk.ui.render import plain_messages, render_answer
from newsdesk.wiring import Newsdesk
from tests.conftest import SEEDS

ZHUHAI = "What aircraft will Russia display at the airshow in Zhuhai?"
FIRST = "Who is China hosting for security talks?"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Newsdesk:
    folder: Path = tmp_path_factory.mktemp("chat")
    desk = Newsdesk(Settings(db=folder / "index", home=folder / "home"), embedder=embedder)
    desk.indexer.index_paths([SEEDS])
    return desk


def with_model(desk: Newsdesk, reply: str, embedder: Embedder) -> Newsdesk:
    """The same index, answered by a scripted model in the compose style (streamed token by token)."""
    settings = Settings(llm="openai", llm_base_url="http://127.0.0.1:9/v1", llm_style="compose")
    qa = desk.qa
    qa.generator = GenerativeAnswerer(
        settings, qa.answerer, embedder=embedder, model=FakeListChatModel(responses=[reply])
    )
    return desk


def test_a_streamed_answer_never_shows_a_partial_or_invalid_marker(
    desk: Newsdesk, embedder: Embedder
) -> None:
    documents = desk.qa.retriever.invoke(ZHUHAI)
    n = next(i for i, d in enumerate(documents, start=1) if "Su-57" in d.page_content)
    reply = (
        f"Russia will display the Su-57 [{n}][{n}]. Look <img src=x onerror=alert(1)> here [{n}]. Extra [9"
    )
    guards = Guards.from_settings(desk.settings)
    try:
        messages = list(
            chat_messages(
                guarded(with_model(desk, reply, embedder), guards, ZHUHAI, None, "", "", "c", stream=True)
            )
        )
    finally:
        desk.qa.generator = None
    assert len(messages) > 10  # token by token
    for shown in messages[:-1]:
        assert not re.search(r"\[\d*$", shown.rstrip(" …")) and "[9" not in shown
        assert set(re.findall(r"\*\*\[(\d+)\]\*\*", shown)) <= {"1"}
        assert "<img" not in shown and "Sources" not in shown
    final = messages[-1]
    assert final.startswith("Russia will display the Su\\-57\\. **[1]**") and "Sources" not in final
    assert "<img" not in final and guards.gate.stats()["asking"] == 0


def test_a_follow_up_shows_what_was_searched_for(desk: Newsdesk) -> None:
    guards = Guards.from_settings(desk.settings)
    first = render_answer(desk.qa.ask(FIRST)) + "\n\n**Sources**\n\n**[1]** A headline"  # an older message
    chat = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": [{"type": "text", "text": first}]},
    ]
    history = plain_messages(chat)
    assert history[1]["content"].startswith(
        "China is hosting Russian Security Council Secretary Sergei Shoigu"
    )
    assert "Sources" not in history[1]["content"] and "[1]" in history[1]["content"]
    *streamed, shown = chat_messages(
        guarded(desk, guards, "What will he see in Zhuhai?", None, "", "", "c", history, True)
    )
    assert len(streamed) == 1  # the whole answer at once, then the checked answer
    assert shown.startswith("*Searched for: What will Shoigu see in Zhuhai?*\n\n")
    assert "Su\\-57" in shown and "Sources" not in shown  # the panel shows them
    again = plain_messages([*chat, {"role": "user", "content": "x"}, {"role": "assistant", "content": shown}])
    assert not again[3]["content"].startswith("*Searched") and "Su-57" in again[3]["content"]


def test_every_chat_question_passes_the_rate_limit(desk: Newsdesk) -> None:
    guards = Guards.from_settings(desk.settings.model_copy(update={"rate_limit": "1/minute"}))
    answered = list(guarded(desk, guards, FIRST, None, "", "", "ann", stream=True))
    assert isinstance(answered[-1], Answer) and "Shoigu" in answered[-1].answer
    assert guards.gate.stats()["asking"] == 0 and guards.gate.admitted == 0
    (refused,) = list(guarded(desk, guards, FIRST, None, "", "", "ann", stream=True))
    assert isinstance(refused, Answer) and refused.abstained and "many questions" in refused.answer


def test_a_notice_is_shown_as_a_note_and_escaped() -> None:
    answer = Answer(
        "q",
        "Quote [1]",
        False,
        [Citation(1, "a", "T", "", "", "", "Quote", 0, 5, 0.0)],
        notice="Could not use <the model> (it is unreachable); this is the extractive answer.",
    )
    shown = render_answer(answer)
    assert (
        "*Note: Could not use &lt;the model&gt; \\(it is unreachable\\); this is the extractive answer\\.*"
        in shown
    )
    assert plain_messages([{"role": "assistant", "content": shown}])[0]["content"] == "Quote [1]"


def test_the_extractive_mode_answers_without_asking_the_model(desk: Newsdesk, embedder: Embedder) -> None:
    guards = Guards.from_settings(desk.settings)
    try:
        with_model(desk, "Russia will display the Su-57 [1].", embedder)
        generated = final_of(guarded(desk, guards, ZHUHAI, None, "", "", None, stream=True))
        quoted = final_of(guarded(desk, guards, ZHUHAI, None, "", "", None, stream=True, mode="extractive"))
    finally:
        desk.qa.generator = None
    assert generated.generator == "custom"  # the scripted model
    assert quoted.generator == "extractive" and "Su-57" in quoted.answer and not quoted.abstained


@pytest.mark.parametrize("llm", ["extractive", "openai"])
def test_the_answer_mode_is_offered_only_with_a_language_model(
    tmp_path: Path, embedder: Embedder, llm: str
) -> None:
    settings = Settings(db=tmp_path / "index", llm=llm, llm_base_url="http://127.0.0.1:9/v1")  # type: ignore[arg-type]
    blocks = build_blocks(Newsdesk(settings, embedder=embedder), Guards.from_settings(settings))
    [mode] = [b for b in blocks.blocks.values() if getattr(b, "elem_id", None) == "newsdesk-mode"]
    assert mode.visible is (llm != "extractive")


def test_streamed_text_is_sent_at_most_once_per_interval_and_the_answer_at_once() -> None:
    now = [0.0]
    answer = Answer("q", "Done [1]", False)

    def script() -> Iterator[str | Answer]:
        for step, delta in ((0.03, "A"), (0.05, "B"), (0.12, "C"), (0.15, "D"), (0.26, "E"), (0.27, "F")):
            now[0] = step
            yield delta
        yield answer

    assert list(paced(script(), 0.1, lambda: now[0])) == ["ABC", "DE", answer]  # "F": replaced at once
    assert list(paced(iter(["whole answer", answer]), 0.1, lambda: 0.0)) == [answer]  # extractive: once
    assert list(paced(iter(["cut", "short"]), 0.1, lambda: 0.0)) == ["cutshort"]  # no answer: text kept
