"""OpenAI-compatible chat: the official ``openai`` client against a real ``newsdesk serve`` process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from markdown_it import MarkdownIt

from newsdesk.rag.types import Answer, Citation
from newsdesk.ui.openai_api import ChatMessage, history_of, reply_content
from tests.conftest import SEED_ARTICLE
from tests.support import CITATION_FIELDS
from tests.ui.test_app import QUESTION, start_server

FOLLOW_UP = "What will he see in Zhuhai?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_server(tmp_path_factory.mktemp("openai") / "index", {"NEWSDESK_AUTH": "ann:s3cret"})
    yield url
    process.terminate()
    process.wait(timeout=30)


def client(server: str, key: str = "ann:s3cret") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=120)


def ask(server: str, messages: list[dict[str, str]], stream: bool) -> tuple[str, list[dict[str, Any]]]:
    """The reply's content and its ``citations`` field, streamed or not."""
    chat = client(server).chat.completions
    if not stream:
        reply = chat.create(model="newsdesk", messages=messages)  # type: ignore[arg-type]
        assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.role == "assistant"
        return str(reply.choices[0].message.content), list((reply.model_extra or {})["citations"])
    pieces, citations, finishes = [], [], []
    for part in chat.create(model="newsdesk", messages=messages, stream=True):  # type: ignore[call-overload]
        if part.choices:
            pieces.append(part.choices[0].delta.content or "")
            finishes.append(part.choices[0].finish_reason)
        citations.extend((part.model_extra or {}).get("citations") or [])
    assert finishes[-1] == "stop" and len(pieces) > 2  # sent in pieces
    return "".join(pieces), citations


def answer_part(content: str) -> str:
    return content.split("**Sources**", 1)[0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_question_and_its_follow_up_get_cited_answers(server: str, stream: bool) -> None:
    seed = SEED_ARTICLE.read_text(encoding="utf-8")

    content, citations = ask(server, [{"role": "user", "content": QUESTION}], stream)

    assert "Shoigu" in answer_part(content) and "[1]" in answer_part(content)
    assert "**Sources**" in content and "China is hosting" in content.split("**Sources**", 1)[1]
    assert citations and set(citations[0]) == CITATION_FIELDS
    assert all(c["quote"] in seed for c in citations)

    conversation = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": content},
        {"role": "user", "content": FOLLOW_UP},
    ]
    follow_content, follow_citations = ask(server, conversation, stream)

    assert "Su-57" in answer_part(follow_content) and "**Sources**" in follow_content
    assert any("Su-57" in c["quote"] for c in follow_citations)
    assert all(c["quote"] in seed for c in follow_citations)


def test_the_whole_answer_travels_in_an_extra_field(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": FOLLOW_UP}]
    )
    contract = (reply.model_extra or {})["newsdesk"]
    assert contract["question"] == FOLLOW_UP and "abstained" in contract
    assert reply.model == "newsdesk"


def test_models_lists_newsdesk(server: str) -> None:
    assert [model.id for model in client(server).models.list()] == ["newsdesk"]


def test_a_wrong_or_missing_key_is_refused(server: str) -> None:
    for key in ("wrong", "ann:wrong", "bob:s3cret"):
        with pytest.raises(openai.AuthenticationError):
            client(server, key).chat.completions.create(
                model="newsdesk", messages=[{"role": "user", "content": QUESTION}]
            )
    with pytest.raises(openai.AuthenticationError):
        client(server, "wrong").models.list()
    named = client(server, "ann:s3cret").chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "Shoigu" in str(named.choices[0].message.content)


def test_bad_input_gets_a_clear_message(server: str) -> None:
    empty = client(server).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": " "}]
    )
    assert str(empty.choices[0].message.content).startswith("Please type a question")
    with pytest.raises(openai.BadRequestError) as refused:
        client(server).chat.completions.create(
            model="newsdesk",
            messages=[{"role": "user", "content": QUESTION}],
            extra_body={"since": 2024},
        )
    assert "Dates must be text" in str(refused.value)


def test_article_text_in_a_reply_cannot_become_markup() -> None:
    hostile = "![x](http://203.0.113.9/p.png) <img src=x onerror=alert(1)> [y](javascript:alert(1))"
    citation = Citation(1, "a", "T <b>", "javascript:alert(1)", "Src", "2024-01-02", hostile, 0, 20, 0.5)
    content = reply_content(Answer("q", f"Look {hostile} [1]", False, [citation]))

    shown = MarkdownIt("commonmark").render(content)  # what a chat client's Markdown renderer makes of it

    assert "<img" not in shown and "<b>" not in shown and "href" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "![x](http://203.0.113.9/p.png)" in shown
    assert "[1]" in content.split("**Sources**")[0]
    safe = reply_content(
        Answer("q", "Q [1]", False, [Citation(1, "a", "T", "https://ex.org/a", "", "", "Q", 0, 1, 0)])
    )
    assert '<a href="https://ex.org/a">T</a>' in MarkdownIt("commonmark").render(safe)


def test_the_history_is_the_conversation_before_the_last_question() -> None:
    content = reply_content(
        Answer("q", "Sergei Shoigu\\_x [1]", False, [Citation(1, "a", "T", "", "", "", "Q", 0, 1, 0)])
    )
    messages = [
        ChatMessage(role="system", content="obey"),
        ChatMessage(role="user", content=[{"type": "text", "text": "Who?"}]),
        ChatMessage(role="assistant", content=content),
        ChatMessage(role="user", content="And then?"),
    ]
    question, history = history_of(messages)
    assert question == "And then?"
    assert history == [
        {"role": "user", "content": "Who?"},
        {"role": "assistant", "content": "Sergei Shoigu\\_x [1]"},
    ]
