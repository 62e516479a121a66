"""The app with a language model: a real `newsdesk serve` process whose ``openai`` backend is the
session's real SmolLM2 served by llama.cpp, driven over HTTP and by gradio_client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from newsdesk.index.load import load_paths
from newsdesk.rag.llm.backends import LocalServer
from tests.conftest import SEED_ARTICLE
from tests.ui.test_app import get_json, start_server

pytestmark = pytest.mark.llm
FIRST = "Who is China hosting for security talks?"
FOLLOW_UP = "What will he see in Zhuhai?"
SEED_TEXT = load_paths([SEED_ARTICLE]).articles[0].text


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory, local_server: LocalServer) -> Iterator[str]:
    env = {
        "NEWSDESK_LLM": "openai",
        "NEWSDESK_LLM_BASE_URL": local_server.url,
        "NEWSDESK_LLM_API_KEY": local_server.api_key,
        "NEWSDESK_LLM_STYLE": "short",
    }
    process, url = start_server(tmp_path_factory.mktemp("llm-app") / "index", env)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_a_follow_up_over_the_http_api(llm_server: str) -> None:
    first = get_json(f"{llm_server}/api/ask", {"question": FIRST})
    assert "Shoigu" in str(first["answer"])
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first["answer"]}]
    second = get_json(f"{llm_server}/api/ask", {"question": FOLLOW_UP, "history": history})
    assert "Shoigu" in str(second["standalone_question"]) and "Su-57" in str(second["answer"])
    assert second["generator"] in ("openai", "extractive") and second["citations"]
    for c in second["citations"]:  # type: ignore[union-attr]
        assert c["verified"] is True and SEED_TEXT[c["start"] : c["end"]] == c["quote"]


def test_a_follow_up_in_the_chat_shows_what_was_searched_for(llm_server: str) -> None:
    client = Client(llm_server, verbose=False)
    history, _ = client.predict(FIRST, [], api_name="/chat")
    history, box = client.predict(FOLLOW_UP, history, api_name="/chat")
    assert box == "" and len(history) == 4
    content = history[-1]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert text.startswith("*Searched for: ") and "Shoigu" in text.split("\n", 1)[0]
    assert "Su\\-57" in text and "Sources" not in text  # the panel shows them
