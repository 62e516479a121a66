"""``GET /api/articles`` and ``GET /api/articles/{id}`` against a real ``newsdesk serve`` process."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SEED_ARTICLE
from tests.ui.test_app import get_json, start_server

LOGIN = "ann:s3cret"
FEED = [
    {
        "id": f"feed-{n}",
        "title": f"Harbour {name} reopens after storm",
        "text": f"The {name} harbour reopened on Monday after the storm. Ferries ran again by noon.",
        "url": f"https://news.example.org/harbour-{n}",
        "published": f"2024-0{n}-15",
        "source": outlet,
    }
    for n, name, outlet in [
        (1, "Alpha", "Coast Herald"),
        (2, "Beta", "Coast Herald"),
        (3, "Gamma", "Daily Tide"),
    ]
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("articles")
    feed = folder / "feed.jsonl"
    feed.write_text("".join(json.dumps(item) + "\n" for item in FEED), encoding="utf-8")
    db = folder / "index"
    subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "index", "seeds", str(feed), "--db", str(db)],
        check=True,
        capture_output=True,
    )
    process, url = start_server(db, {"NEWSDESK_AUTH": LOGIN})
    yield url
    process.terminate()
    process.wait(timeout=30)


def articles(server: str, **query: Any) -> dict[str, Any]:
    return get_json(f"{server}/api/articles?{urllib.parse.urlencode(query, doseq=True)}", login=LOGIN)


def test_the_list_is_paged_newest_first_with_counts(server: str) -> None:
    first = articles(server, per_page=2)
    assert first["total"] == 4 and first["indexed_articles"] == 4 and first["indexed_chunks"] >= 7
    assert [a["id"] for a in first["articles"]] == ["feed-3", "feed-2"]
    second = articles(server, per_page=2, page=2)
    titles = [a["title"] for a in second["articles"]]
    assert titles == ["Harbour Alpha reopens after storm", "Chinese-Russian Security Talks in Beijing"]
    assert articles(server, per_page=2, page=3)["articles"] == []


def test_the_list_is_filtered_by_words_outlet_and_dates(server: str) -> None:
    assert [a["id"] for a in articles(server, q="beta harbour")["articles"]] == ["feed-2"]
    assert {a["id"] for a in articles(server, source="coast herald")["articles"]} == {"feed-1", "feed-2"}
    assert [a["id"] for a in articles(server, since="2024-02", until="2024-02")["articles"]] == ["feed-2"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        articles(server, since="soon")
    assert refused.value.code == 422 and "YYYY-MM-DD" in refused.value.read().decode()


def test_a_file_article_has_no_link_and_a_feed_article_keeps_its_own(server: str) -> None:
    listed = {a["id"]: a for a in articles(server)["articles"]}
    seed = next(a for a in listed.values() if a["title"] == "Chinese-Russian Security Talks in Beijing")
    assert seed["url"] == "" and listed["feed-1"]["url"] == "https://news.example.org/harbour-1"
    assert "origin" not in seed
    assert seed["id"] == SEED_ARTICLE.name  # the file's name, never the server's path


def test_one_article_comes_with_its_whole_text(server: str) -> None:
    seed_id = next(a["id"] for a in articles(server)["articles"] if a["title"].startswith("Chinese-Russian"))
    article = get_json(f"{server}/api/articles/{urllib.parse.quote(seed_id)}", login=LOGIN)
    assert article["text"].strip() == SEED_ARTICLE.read_text(encoding="utf-8").strip()
    assert article["url"] == "" and article["truncated"] is False and article["id"] == SEED_ARTICLE.name
    feed = get_json(f"{server}/api/articles/feed-3", login=LOGIN)
    assert feed["text"] == FEED[2]["text"] and feed["source"] == "Daily Tide"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get_json(f"{server}/api/articles/no-such-article", login=LOGIN)
    assert missing.value.code == 404


def test_the_article_routes_want_the_login_and_document_their_schemas(server: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{server}/api/articles")
    assert refused.value.code == 401
    schema = get_json(f"{server}/api/openapi.json", login=LOGIN)  # the API's description wants it too
    paths = schema["paths"]
    listed = paths["/api/articles"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    one = paths["/api/articles/{article_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed == {"$ref": "#/components/schemas/ArticlePage"}
    assert one["schema"] == {"$ref": "#/components/schemas/ArticleDetail"}
    assert set(schema["components"]["schemas"]["ArticleDetail"]["properties"]) >= {"text", "title", "url"}
