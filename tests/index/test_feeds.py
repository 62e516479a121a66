"""Feeds and URLs: RSS and Atom entries become their pages' articles (or their own text when the page
cannot be had), each canonical URL once; every failure is reported by its URL and the rest is read."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT
from newsdesk.index.feeds import NotAFeed, SourceLoader, entry_day, looks_like_feed, parse_feed
from newsdesk.index.fetch import Fetcher
from tests.index.news_server import NewsServer, rss

PAGES = REPO_ROOT / "bench" / "pages"


def atom(title: str, entries: list[dict[str, str]]) -> str:
    body = "".join(
        f'<entry><id>{e["id"]}</id><title>{e["title"]}</title><link href="{e["link"]}"/>'
        f"<updated>{e['updated']}</updated><summary>{e.get('summary', '')}</summary></entry>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:feed</id><updated>2024-05-01T00:00:00Z</updated>{body}</feed>"
    )


@pytest.fixture
def server() -> Iterator[NewsServer]:
    with NewsServer() as running:
        yield running


def loader() -> SourceLoader:
    return SourceLoader(
        Fetcher(
            user_agent="Newsdesk/test",
            timeout=2.0,
            retries=0,
            host_interval=0.0,
            allow=(ipaddress.ip_network("127.0.0.1/32"),),
        )
    )


def page(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def test_rss_entries_are_read_from_their_pages_with_the_pages_metadata(server: NewsServer) -> None:
    strike = server.serve("/2024/strike", page("harbour-strike"))
    budget = server.serve("/2024/budget", page("council-budget"))
    feed = server.serve(
        "/rss.xml",
        rss(
            "Wire Digest",
            [
                {"title": "Strike ends", "link": strike, "pubDate": "Thu, 14 Mar 2024 07:45:00 +0000"},
                {"title": "Budget", "link": budget, "description": "Teaser only."},
            ],
        ),
        content_type="application/rss+xml",
    )
    result = loader().load([feed])
    assert result.problems == [] and result.notes == []
    first, second = result.articles
    assert (
        first.id == first.url == "https://www.coastalherald.example/news/2024/03/14/saltmere-dock-strike-ends"
    )
    assert (first.title, first.published, first.source, first.author) == (
        "Dock workers end 12-day strike at Port of Saltmere",
        "2024-03-14",
        "The Coastal Herald",
        "Priya Raman",
    )
    assert (
        "Dennis Okafor" in first.text and "cookies" not in first.text and "harbourwatcher" not in first.text
    )
    assert (
        second.source == "Ravensholt Echo" and "Most read" not in second.text and "Teaser" not in second.text
    )


def test_an_entry_whose_page_cannot_be_had_falls_back_to_its_own_text_and_one_without_text_is_reported(
    server: NewsServer,
) -> None:
    server.serve("/robots.txt", "User-agent: *\nDisallow: /members/\n", content_type="text/plain")
    locked = server.url("/members/story")
    missing = server.url("/gone")
    feed = server.serve(
        "/feed.atom",
        atom(
            "Valley Wire",
            [
                {
                    "id": "urn:1",
                    "title": "Dam opens",
                    "link": locked,
                    "updated": "2024-04-01T23:30:00-05:00",
                    "summary": "&lt;p&gt;The Brook dam opened its gates on Monday.&lt;/p&gt;",
                },
                {"id": "urn:2", "title": "Lost", "link": missing, "updated": "2024-04-02T08:00:00Z"},
            ],
        ),
        content_type="application/atom+xml",
    )
    result = loader().load([feed])
    [dam] = result.articles
    assert (dam.id, dam.title, dam.published, dam.source, dam.text) == (
        locked,
        "Dam opens",
        "2024-04-01",
        "Valley Wire",
        "The Brook dam opened its gates on Monday.",
    )
    assert result.notes == [
        f"{locked}: the feed entry's own text indexed (robots.txt of {server.url('')} disallows {locked})"
    ]
    assert [str(p) for p in result.problems] == [
        f"{missing}: HTTP 404, and the feed entry has no text of its own"
    ]


def test_the_same_story_reached_twice_is_read_once_by_its_canonical_url(server: NewsServer) -> None:
    server.serve("/a?utm_source=rss", page("chip-plant"))
    server.serve("/b", page("chip-plant"))
    feed = server.serve(
        "/feed.xml",
        rss(
            "T",
            [
                {"title": "x", "link": server.url("/a?utm_source=rss")},
                {"title": "y", "link": server.url("/b")},
            ],
        ),
    )
    result = loader().load([feed, server.url("/b")])
    canonical = "https://techledger.example/2024/05/09/norvale-semiconductor-layoffs/"
    assert [a.id for a in result.articles] == [canonical]
    assert result.notes == [f"{canonical}: reached twice (same canonical URL), indexed once"] * 2


def test_a_page_url_is_read_as_an_article_and_a_local_feed_file_works_like_a_feed(
    server: NewsServer, tmp_path: Path
) -> None:
    url = server.serve("/fire", page("wildfire-evacuation"))
    feed_file = tmp_path / "saved.rss"
    feed_file.write_text(rss("Saved", [{"title": "Cup", "link": server.serve("/cup", page("cup-final"))}]))
    result = loader().load([url, str(feed_file)])
    assert [a.title for a in result.articles] == [
        "Thousands evacuated as Cedar Ridge fire doubles in size overnight",
        "Kestrel Town win first Northern Cup with late header",
    ]
    assert result.articles[1].source == "Sports Daily"  # the page's outlet over the feed's title


def test_failures_are_reported_by_url_and_the_rest_is_read(server: NewsServer, tmp_path: Path) -> None:
    good = server.serve("/good", page("harbour-strike"))
    empty = server.serve("/empty", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    not_feed = tmp_path / "notes.xml"
    not_feed.write_text("<notes><note>hi</note></notes>")
    result = loader().load([server.url("/nothing"), empty, str(not_feed), good])
    assert [a.url for a in result.articles] == [
        "https://www.coastalherald.example/news/2024/03/14/saltmere-dock-strike-ends"
    ]
    reasons = {p.path: p.reason for p in result.problems}
    assert reasons[server.url("/nothing")] == "HTTP 404"
    assert reasons[empty] == "no article text found in the page"
    assert reasons[str(not_feed)].startswith("not an RSS or Atom feed")


def test_feed_dates_keep_the_day_they_name_and_feeds_are_told_from_pages() -> None:
    assert entry_day("Mon, 01 Apr 2024 23:30:00 -0500") == "2024-04-01"
    assert entry_day("2024-04-01T23:30:00-05:00") == "2024-04-01"
    assert entry_day("sometime in spring") == ""
    assert looks_like_feed("text/xml", b'<?xml version="1.0"?>\n<!-- hi -->\n<rss version="2.0">')
    assert looks_like_feed("application/atom+xml", b"garbage")
    assert not looks_like_feed("text/html", b"<!doctype html><html>")
    with pytest.raises(NotAFeed):
        parse_feed(b"<html><body>hello</body></html>")
    feed = parse_feed(rss("T", [{"title": "A", "link": "https://x.example/a", "guid": "g-1"}]).encode())
    assert [(e.key, e.link, e.title) for e in feed.entries] == [("g-1", "https://x.example/a", "A")]
