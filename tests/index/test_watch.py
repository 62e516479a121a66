"""Kept fresh: feeds polled with conditional requests, only new or changed entries indexed, each round
reported, a failing feed polled again later without stopping the others (a real local HTTP server and
a real index)."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from newsdesk.config import Settings
from newsdesk.index.fetch import Fetcher
from newsdesk.index.watch import (
    FeedState,
    Refused,
    Watcher,
    add_url,
    state_path,
    watch_in_background,
    watched_feeds,
)
from newsdesk.wiring import Newsdesk
from tests.index.news_server import NewsServer, page, rss
from tests.support import run_newsdesk

EMBEDDED = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


def fetcher() -> Fetcher:
    return Fetcher(
        user_agent="Newsdesk/test", timeout=2.0, retries=0, host_interval=0.0,
        allow=(ipaddress.ip_network("127.0.0.1/32"),),
    )  # fmt: skip


def watcher_for(desk: Newsdesk, feeds: list[str]) -> Watcher:
    return Watcher(feeds, desk.indexer, fetcher(), FeedState(state_path(desk.settings)))


def serve_feed(news_server: NewsServer, items: list[tuple[str, str]], etag: str) -> str:
    return news_server.serve(
        "/feed.xml",
        rss("Wire", [{"title": title, "link": news_server.url(path), "guid": path} for title, path in items]),
        content_type="application/rss+xml",
        etag=etag,
    )


@EMBEDDED
def test_only_new_entries_are_indexed_and_an_unchanged_feed_costs_one_304(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    news_server.serve("/strike", page("harbour-strike"))
    news_server.serve("/budget", page("council-budget"))
    news_server.serve("/chips", page("chip-plant"))
    feed = serve_feed(news_server, [("Strike", "/strike"), ("Budget", "/budget")], etag='"v1"')
    desk = make_desk()
    watcher = watcher_for(desk, [feed])

    [first] = watcher.poll_round()
    assert first.ok and first.report is not None and len(first.report.added) == 2
    assert first.result.startswith("2 new or changed of 2 entries: added 2")

    [second] = watcher.poll_round()
    assert (second.ok, second.result, second.report) == (True, "not modified", None)
    last = news_server.seen[-1]
    assert last.path == "/feed.xml" and last.headers["if-none-match"] == '"v1"'

    serve_feed(news_server, [("Chips", "/chips"), ("Strike", "/strike"), ("Budget", "/budget")], etag='"v2"')
    before = {path: news_server.requests_for(path) for path in ("/strike", "/budget", "/chips")}
    [third] = watcher.poll_round()
    assert third.report is not None
    assert third.report.added == ["https://techledger.example/2024/05/09/norvale-semiconductor-layoffs/"]
    assert third.result.startswith("1 new or changed of 3 entries: added 1, updated 0")
    assert news_server.requests_for("/chips") == before["/chips"] + 1
    assert news_server.requests_for("/strike") == before["/strike"]  # old entries are not fetched again
    assert news_server.requests_for("/budget") == before["/budget"]
    assert len(desk.store.articles()) == 3


@EMBEDDED
def test_a_failing_feed_is_reported_polled_again_and_does_not_stop_the_others(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    news_server.serve("/cup", page("cup-final"))
    good = news_server.serve("/good.xml", rss("Sport", [{"title": "Cup", "link": news_server.url("/cup")}]))
    broken = news_server.url("/broken.xml")  # 404 for now
    settings_feeds = f"{broken}, {good}"
    desk = make_desk(watch_feeds=settings_feeds)
    watcher = watcher_for(desk, desk.settings.watched_feeds)
    assert [s.result for s in watched_feeds(desk.settings)] == ["not polled yet", "not polled yet"]

    bad, fine = watcher.poll_round()
    assert (bad.ok, bad.result) == (False, "failed: HTTP 404")
    assert fine.ok and fine.report is not None and len(fine.report.added) == 1

    news_server.serve("/fire", page("wildfire-evacuation"))
    news_server.serve("/broken.xml", rss("Radio", [{"title": "Fire", "link": news_server.url("/fire")}]))
    bad_again, fine_again = watcher.poll_round()
    assert bad_again.ok and bad_again.report is not None and len(bad_again.report.added) == 1
    assert fine_again.result.startswith("0 new or changed of 1 entries")

    statuses = watched_feeds(desk.settings)
    assert [(s.url, s.ok, s.failures) for s in statuses] == [(broken, True, 0), (good, True, 0)]
    assert all(s.last_poll is not None for s in statuses)


@EMBEDDED
def test_an_entry_that_could_not_be_read_is_tried_again_next_round(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    feed = serve_feed(news_server, [("Strike", "/strike")], etag='"v1"')  # /strike is 404 at first
    desk = make_desk()
    watcher = watcher_for(desk, [feed])
    [first] = watcher.poll_round()
    assert first.ok and first.result.endswith("1 not read (tried again next round)")
    assert [str(p) for p in first.problems] == [
        f"{news_server.url('/strike')}: HTTP 404, and the feed entry has no text of its own"
    ]
    news_server.serve("/strike", page("harbour-strike"))
    [second] = watcher.poll_round()
    assert "if-none-match" not in news_server.seen[-2].headers  # the feed was fetched in full again
    assert second.report is not None and len(second.report.added) == 1


def test_newsdesk_watch_reports_each_round_and_stops_after_rounds(
    news_server: NewsServer, tmp_path: Path
) -> None:
    news_server.serve("/strike", page("harbour-strike"))
    feed = serve_feed(news_server, [("Strike", "/strike")], etag='"v1"')
    env = {
        "NEWSDESK_FETCH_ALLOW": "127.0.0.1",
        "NEWSDESK_FETCH_HOST_INTERVAL": "0",
        "NEWSDESK_HOME": f"{tmp_path}",
    }
    done = run_newsdesk("watch", feed, "--every", "1s", "--rounds", "2", "--db", f"{tmp_path}/index", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        f"round 1: {feed}: 1 new or changed of 1 entries: added 1, updated 0, unchanged 0, duplicates 0"
        in lines
    )
    assert f"round 2: {feed}: not modified" in lines
    assert any(
        line.startswith("round 2 done at ") and "1 of 1 feed(s) polled, 0 failed" in line for line in lines
    )
    settings = Settings(db=f"{tmp_path}/index", home=f"{tmp_path}")  # type: ignore[arg-type]
    [status] = watched_feeds(settings)
    assert (status.url, status.result, status.ok) == (feed, "not modified", True)


def test_newsdesk_watch_exits_1_when_every_feed_failed_and_says_so(
    news_server: NewsServer, tmp_path: Path
) -> None:
    env = {"NEWSDESK_FETCH_ALLOW": "127.0.0.1", "NEWSDESK_FETCH_RETRIES": "0", "NEWSDESK_HOME": f"{tmp_path}"}
    missing = news_server.url("/missing.xml")
    done = run_newsdesk("watch", missing, "--rounds", "1", "--db", f"{tmp_path}/index", env=env)
    assert done.returncode == 1, done.stderr
    assert f"round 1: {missing}: failed: HTTP 404" in done.stdout.splitlines()
    assert "0 of 1 feed(s) polled, 1 failed (polled again next round); 0 chunks in all" in done.stdout


@EMBEDDED
def test_the_apps_background_watcher_indexes_on_its_own_thread_and_stops_when_told(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    news_server.serve("/cup", page("cup-final"))
    feed = news_server.serve("/feed.xml", rss("Sport", [{"title": "Cup", "link": news_server.url("/cup")}]))
    desk = make_desk(watch_feeds=feed, watch_every="1h")
    lines: list[str] = []
    stop = watch_in_background(
        watcher_for(desk, desk.settings.watched_feeds), desk.settings.watch_seconds, lines.append
    )
    deadline = time.monotonic() + 120
    while not lines and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    assert lines == [
        f"watch round 1: {feed}: 1 new or changed of 1 entries: added 1, updated 0, unchanged 0, duplicates 0"
    ]
    [status] = watched_feeds(desk.settings)
    assert status.ok and status.result == lines[0].split(f"{feed}: ", 1)[1]
    assert [a.metadata["title"] for a in desk.store.articles()] == [
        "Kestrel Town win first Northern Cup with late header"
    ]


@EMBEDDED
def test_a_feed_added_from_the_app_is_indexed_now_then_polled_by_a_watcher_that_follows_the_app(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    news_server.serve("/strike", page("harbour-strike"))
    feed = serve_feed(news_server, [("Strike", "/strike")], etag='"v1"')
    desk = make_desk()

    added = add_url(f" {feed} ", watcher_for(desk, []))

    assert (added.kind, added.followed, added.newly_followed) == ("feed", True, True)
    assert added.result.startswith("1 new or changed of 1 entries: added 1")
    assert len(added.report.added) == 1 and added.problems == []
    [status] = watched_feeds(desk.settings)
    assert (status.url, status.origin, status.ok) == (feed, "app", True) and status.last_poll is not None
    assert watcher_for(desk, []).round_feeds() == []  # a plain watcher polls only its own feeds
    follower = Watcher([], desk.indexer, fetcher(), FeedState(state_path(desk.settings)), followed=True)
    [polled] = follower.poll_round()
    assert (polled.url, polled.result) == (feed, "not modified")  # the validators of the first fetch
    again = add_url(feed, watcher_for(desk, []))
    assert (again.followed, again.newly_followed) == (True, False)


@EMBEDDED
def test_a_page_added_from_the_app_is_indexed_and_not_followed(
    news_server: NewsServer, make_desk: Callable[..., Newsdesk]
) -> None:
    url = news_server.serve("/cup", page("cup-final"))
    desk = make_desk()

    added = add_url(url, watcher_for(desk, []))

    assert (added.kind, added.followed) == ("page", False)
    assert added.report.added == ["https://sportsdaily.example/football/kestrel-town-northern-cup-final"]
    assert watched_feeds(desk.settings) == []


@EMBEDDED
@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("file:///etc/passwd", "redirect to file:///etc/passwd refused: only http and https URLs"),
        ("refused", "127.0.0.2 is a loopback"),
        ("/missing", "HTTP 404"),
        ("/empty", "no article text"),
    ],
    ids=["file", "address", "missing", "no-article"],
)
def test_a_refused_url_says_why_and_changes_nothing(
    news_server: NewsServer,
    refused_listener: socket.socket,
    make_desk: Callable[..., Newsdesk],
    target: str,
    says: str,
) -> None:
    news_server.serve("/empty", "<html><body><nav>Home</nav></body></html>")
    if target == "refused":
        target = f"http://127.0.0.2:{refused_listener.getsockname()[1]}/feed.xml"
    elif target.startswith("/"):
        target = news_server.url(target)
    url = news_server.serve("/go", status=302, headers={"Location": target})
    desk = make_desk()

    with pytest.raises(Refused) as refused:
        add_url(url, watcher_for(desk, []))

    assert says in str(refused.value)
    with pytest.raises(BlockingIOError):
        refused_listener.accept()  # nothing connected to the refused address
    assert watched_feeds(desk.settings) == [] and not desk.store.exists()
    with pytest.raises(Refused, match="http:// or https://"):
        add_url("/etc/passwd", watcher_for(desk, []))


def test_newsdesk_watch_without_feeds_polls_those_added_in_the_app(
    news_server: NewsServer, tmp_path: Path
) -> None:
    env = {
        "NEWSDESK_FETCH_ALLOW": "127.0.0.1",
        "NEWSDESK_FETCH_HOST_INTERVAL": "0",
        "NEWSDESK_HOME": f"{tmp_path}",
    }
    db = f"{tmp_path}/index"
    nothing = run_newsdesk("watch", "--rounds", "1", "--db", db, env=env)
    assert nothing.returncode == 2
    assert "set NEWSDESK_WATCH_FEEDS, or add a feed in the app's Articles tab" in nothing.stderr
    news_server.serve("/strike", page("harbour-strike"))
    feed = serve_feed(news_server, [("Strike", "/strike")], etag='"v1"')
    FeedState(state_path(Settings(db=db, home=tmp_path))).follow(feed)  # type: ignore[arg-type]

    done = run_newsdesk("watch", "--rounds", "1", "--db", db, env=env)

    assert done.returncode == 0, done.stderr
    assert f"round 1: {feed}: 1 new or changed of 1 entries: added 1" in done.stdout
