"""Adding news pages and feeds from the app: a real ``newsdesk serve`` with logins fetches from a real
HTTP server on 127.0.0.1 through the guarded fetcher; an admin's feed answers questions at once and is
polled by the server's watcher from then on; a reader is refused; a refused URL changes nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.index.news_server import NewsServer, page, rss
from tests.support import run_newsdesk
from tests.ui.test_app import start_server

ADMIN, READER = ("ann", "adm1n-pass"), ("bob", "r3ader-pass")
STRIKE_URL = "https://www.coastalherald.example/news/2024/03/14/saltmere-dock-strike-ends"
CUP_URL = "https://sportsdaily.example/football/kestrel-town-northern-cup-final"


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    with NewsServer() as running:
        yield running


@pytest.fixture(scope="module")
def app(news: NewsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("feeds")
    users = folder / "users.txt"
    for (user, password), extra in ((ADMIN, ["--admin"]), (READER, [])):
        assert run_newsdesk("passwd", str(users), user, *extra, input=password + "\n").returncode == 0
    env = {
        "NEWSDESK_AUTH_FILE": str(users),
        "NEWSDESK_FETCH_ALLOW": "127.0.0.1",
        "NEWSDESK_FETCH_HOST_INTERVAL": "0",
        "NEWSDESK_FETCH_RETRIES": "0",
        "NEWSDESK_FETCH_TIMEOUT": "3",
        "NEWSDESK_WATCH_EVERY": "2s",
    }
    process, url = start_server(folder / "index", env)
    yield url
    process.terminate()
    process.wait(timeout=30)


def add(app: str, url: str, login: tuple[str, str] = ADMIN) -> httpx.Response:
    return httpx.post(f"{app}/api/feeds", auth=login, json={"url": url}, timeout=120)


def feeds(app: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = httpx.get(f"{app}/api/feeds", auth=READER, timeout=30).json()["feeds"]
    return listed


def followed(app: str) -> list[str]:
    """The followed feeds' addresses (their poll times move on as the watcher polls)."""
    return sorted(f["url"] for f in feeds(app))


def articles(app: str) -> int:
    return int(httpx.get(f"{app}/api/articles", auth=READER, timeout=30).json()["indexed_articles"])


def test_an_admin_adds_a_feed_that_answers_at_once_and_is_polled_by_the_servers_watcher(
    app: str, news: NewsServer
) -> None:
    news.serve("/strike", page("harbour-strike"))
    news.serve("/cup", page("cup-final"))
    items = [{"title": "Strike", "link": news.url("/strike")}, {"title": "Cup", "link": news.url("/cup")}]
    wire = rss("Coastal Wire", items)
    feed = news.serve("/wire.xml", wire, content_type="application/rss+xml", etag='"w1"')

    added = add(app, feed)

    assert added.status_code == 200, added.text
    body = added.json()
    assert (body["kind"], body["followed"]) == ("feed", True)
    assert sorted(body["added"]) == sorted([STRIKE_URL, CUP_URL]) and body["skipped"] == []
    assert body["result"].startswith("2 new or changed of 2 entries: added 2")
    answer = httpx.post(
        f"{app}/api/ask",
        auth=READER,
        json={"question": "Who is the chief executive of the port in Saltmere?"},
        timeout=60,
    ).json()
    assert "Marion Hale" in answer["answer"] and answer["citations"][0]["url"] == STRIKE_URL
    [listed] = [f for f in feeds(app) if f["url"] == feed]
    assert listed["origin"] == "app" and listed["ok"] and listed["last_poll"]

    def result() -> list[str]:
        return [f["result"] for f in feeds(app) if f["url"] == feed]

    deadline = time.monotonic() + 60  # the watcher polls every 2 s: a conditional request, answered 304
    while result() != ["not modified"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert result() == ["not modified"]
    polls = [seen for seen in news.seen if seen.path == "/wire.xml"]
    assert len(polls) >= 2 and polls[-1].headers.get("if-none-match") == '"w1"'


def test_an_admin_adds_a_news_page_which_is_not_watched(app: str, news: NewsServer) -> None:
    url = news.serve("/budget", page("council-budget"))

    added = add(app, url)

    assert added.status_code == 200, added.text
    assert (added.json()["kind"], added.json()["followed"]) == ("page", False)
    assert len(added.json()["added"]) == 1 and url not in [f["url"] for f in feeds(app)]


def test_a_reader_may_list_the_feeds_but_not_add_one(app: str, news: NewsServer) -> None:
    url = news.serve("/fire", page("wildfire-evacuation"))
    before = articles(app), followed(app)

    refused = add(app, url, READER)

    assert refused.status_code == 403 and refused.json()["detail"] == "only an admin may add articles"
    assert (articles(app), followed(app)) == before
    assert news.requests_for("/fire") == 0
    assert add(app, url, ("ann", "wrong")).status_code == 401


@pytest.mark.parametrize("where", ["file", "address", "not-a-url"])
def test_a_refused_url_says_why_and_changes_nothing(
    app: str, news: NewsServer, refused_listener: socket.socket, where: str
) -> None:
    inside = f"http://127.0.0.2:{refused_listener.getsockname()[1]}/feed.xml"
    url = {
        "file": news.serve("/to-file", status=302, headers={"Location": "file:///etc/passwd"}),
        "address": news.serve("/to-inside", status=302, headers={"Location": inside}),
        "not-a-url": "file:///etc/passwd",
    }[where]
    says = {
        "file": "redirect to file:///etc/passwd refused: only http and https URLs are fetched",
        "address": f"redirect to {inside} refused: 127.0.0.2 is a loopback",
        "not-a-url": "give the http:// or https:// address of a news page or an RSS or Atom feed",
    }[where]
    before = articles(app), followed(app)

    refused = add(app, url)

    assert refused.status_code == 400
    assert refused.json()["detail"] == "nothing was added"
    [problem] = refused.json()["problems"]
    assert problem.startswith(f"{url}: {says}"), problem
    assert (articles(app), followed(app)) == before
    with pytest.raises(BlockingIOError):
        refused_listener.accept()  # nothing ever connected to the refused address


def test_the_feed_routes_are_described_in_openapi_behind_the_login(app: str) -> None:
    assert httpx.get(f"{app}/api/openapi.json", timeout=30).status_code == 401
    assert httpx.get(f"{app}/api/feeds", timeout=30).status_code == 401
    schema = httpx.get(f"{app}/api/openapi.json", auth=READER, timeout=30).json()
    routes = schema["paths"]["/api/feeds"]
    listed = routes["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    added = routes["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/FeedList") and added["$ref"].endswith("/AddedUrl")
    assert routes["post"]["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Refusal"
    )
    watched = schema["components"]["schemas"]["WatchedFeed"]["properties"]
    assert set(watched) == {"url", "origin", "last_poll", "result", "ok", "failures"}
