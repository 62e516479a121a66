"""The chat's filters and settings reach the read path as ``/api/ask``'s fields do: a real ``newsdesk
serve`` over two outlets that tell the same story with different people, driven by ``gradio_client``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from newsdesk.rag.answer.answerer import ABSTAIN_MESSAGE
from newsdesk.ui.render import message_text, unescape_untrusted
from tests.support import run_newsdesk
from tests.ui.test_app import start_server

QUESTION = "Who opened the new public library in Tarnby?"
ARTICLES = [
    {
        "id": "gazette-tarnby-library",
        "title": "Tarnby opens its new public library",
        "text": "Mayor Ingrid Solberg opened the new public library in Tarnby on Tuesday. The building on "
        "Quay Street holds 40,000 books and a children's reading room. Solberg said the town had waited "
        "twelve years for it.",
        "source": "Harbour Gazette",
        "published": "2024-03-05",
        "url": "https://gazette.example/2024/03/05/tarnby-library",
    },
    {
        "id": "courier-tarnby-library",
        "title": "Novelist cuts the ribbon in Tarnby",
        "text": "Novelist Piet Hanssen opened the new public library in Tarnby, reading from his latest book "
        "to a crowd of two hundred. Hanssen grew up two streets from the new building. Its shelves will "
        "hold local history archives as well.",
        "source": "Valley Courier",
        "published": "2024-03-06",
        "url": "https://courier.example/news/tarnby-library-ribbon",
    },
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("filters")
    feed = folder / "tarnby.jsonl"
    feed.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    index = folder / "index"
    indexed = run_newsdesk("index", str(feed), "--db", str(index), env={"NEWSDESK_HOME": str(folder)})
    assert indexed.returncode == 0, indexed.stderr
    process, url = start_server(index, {"NEWSDESK_HOME": str(folder)})
    yield url
    process.terminate()
    process.wait(timeout=30)


def chat(app: str, **settings: Any) -> str:
    """The chat's answer (as text) with the panel's filters and settings set as a visitor would."""
    history, _ = Client(app, verbose=False).predict(
        QUESTION,
        [],
        settings.get("sources", []),
        settings.get("since", ""),
        settings.get("until", ""),
        settings.get("k", 5),
        "generated",
        api_name="/chat",
    )
    return unescape_untrusted(message_text(history[-1]["content"]))


def test_filtering_by_one_outlet_changes_which_article_answers(app: str) -> None:
    gazette = chat(app, sources=["Harbour Gazette"])
    courier = chat(app, sources=["valley courier"])  # any case, as --source

    assert "Ingrid Solberg" in gazette and "Hanssen" not in gazette
    assert "Piet Hanssen" in courier and "Solberg" not in courier


def test_a_date_range_that_excludes_every_article_gives_the_no_answer_message(app: str) -> None:
    assert chat(app, since="2020-01-01", until="2020-12-31") == ABSTAIN_MESSAGE
    assert "Piet Hanssen" in chat(app, since="2024-03-06", until="2024-03-06")


def test_passages_per_answer_reach_retrieval_as_k_does_on_api_ask(app: str) -> None:
    one = httpx.post(f"{app}/api/ask", json={"question": QUESTION, "k": 1}, timeout=60).json()
    assert one["citations"] and len({c["article_id"] for c in one["citations"]}) == 1
    gradio_one = Client(app, verbose=False).predict(QUESTION, [], "", "", [], 1, api_name="/ask")
    assert {c["article_id"] for c in gradio_one["citations"]} == {c["article_id"] for c in one["citations"]}

    assert httpx.post(f"{app}/api/ask", json={"question": QUESTION, "k": 0}, timeout=60).status_code == 422
    with pytest.raises(AppError, match="less than minimum value 1"):  # the slider's own bounds
        chat(app, k=0)
    refused = Client(app, verbose=False).predict(QUESTION, [], "", "", [], 51, api_name="/ask")
    assert refused["answer"] == "Please ask for between 1 and 50 passages per answer."


def test_the_answer_mode_is_offered_only_with_a_language_model(app: str) -> None:
    config = httpx.get(f"{app}/config", timeout=30).json()
    [mode] = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "newsdesk-mode"]
    assert mode["props"]["visible"] is False  # this server has no model
    extractive = httpx.post(
        f"{app}/api/ask", json={"question": QUESTION, "mode": "extractive"}, timeout=60
    ).json()
    assert extractive["generator"] == "extractive" and not extractive["abstained"]
    assert (
        httpx.post(f"{app}/api/ask", json={"question": QUESTION, "mode": "poem"}, timeout=60).status_code
        == 422
    )
