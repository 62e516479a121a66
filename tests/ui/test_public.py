"""Visitors of the app see file names, not the server's paths; ``ask --json`` keeps the full link."""

from __future__ import annotations

import json
from pathlib import Path

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.rag.types import Answer
from newsdesk.ui.observe import AppMetrics
from newsdesk.ui.public import public_link
from newsdesk.ui.served import ServedQA
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE, SEEDS

QUESTION = "Who is visiting Beijing for security talks?"


def test_a_file_link_becomes_the_files_name_and_a_web_link_stays() -> None:
    assert public_link("file:///srv/news/feed.jsonl#12") == "feed.jsonl#12"  # an article id
    assert public_link(Path("/srv/my news/été.txt").as_uri()) == "été.txt"  # a percent-encoded URI
    assert public_link(Path("/srv/news/feed.jsonl").as_uri() + "#3") == "feed.jsonl#3"
    assert public_link("file:///srv/x/b#c.txt") == "b#c.txt"  # a '#' that is no line number
    assert public_link("https://example.org/story#top") == "https://example.org/story#top"
    assert public_link("") == ""


def test_served_answers_name_the_seed_file_and_are_counted(tmp_path: Path, embedder: Embedder) -> None:
    desk = Newsdesk(Settings(db=tmp_path / "index", home=tmp_path / "home"), embedder=embedder)
    desk.indexer.index_paths([SEEDS])
    metrics = AppMetrics()
    hidden = ServedQA(desk.qa, metrics).ask(QUESTION)
    [streamed] = [item for item in ServedQA(desk.qa, metrics).stream(QUESTION) if isinstance(item, Answer)]
    for answer in (hidden, streamed):
        citation = answer.citations[0]
        assert citation.url == citation.article_id == SEED_ARTICLE.name
        assert str(SEEDS.resolve()) not in json.dumps(answer.to_dict()) and "file:" not in json.dumps(
            answer.to_dict()
        )
    shown = ServedQA(desk.qa, metrics, show_paths=True).ask(QUESTION)
    assert shown.citations[0].url == SEED_ARTICLE.resolve().as_uri()  # the operator's choice
    assert desk.qa.ask(QUESTION).citations[0].url == SEED_ARTICLE.resolve().as_uri()  # ask --json's
    assert metrics.outcomes() == {"answered": 3, "abstained": 0}
