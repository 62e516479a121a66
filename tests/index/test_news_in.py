"""End to end: a feed served on 127.0.0.1 whose entry links to a news page full of boilerplate is indexed
with ``newsdesk index URL``; the article answers with its headline and date, questions only the cookie
banner or the related-stories list could answer are refused, and every bad entry (robots.txt, slow,
huge, a redirect to file:// or to a refused address) is reported by its URL while the rest is indexed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.index.news_server import PAGES, NewsServer, rss
from tests.support import run_newsdesk

HEADLINE = "Dock workers end 12-day strike at Port of Saltmere"
BANNER_QUESTION = "How many advertising partners store cookies, and for how long?"
RELATED_QUESTION = "Which ferry operator cancelled winter crossings to Holm Island?"


def ask(question: str, db: Path, env: dict[str, str]) -> dict[str, object]:
    done = run_newsdesk("ask", question, "--db", str(db), "--json", env=env)
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_a_feed_of_boilerplate_pages_is_indexed_by_url_and_answers_only_from_the_articles(
    news_server: NewsServer, refused_listener: socket.socket, tmp_path: Path
) -> None:
    news_server.serve("/robots.txt", "User-agent: *\nDisallow: /members/\n", content_type="text/plain")
    strike = news_server.serve("/business/saltmere-strike", (PAGES / "harbour-strike.html").read_text())
    cup = news_server.serve("/sport/cup-final", (PAGES / "cup-final.html").read_text())
    members = news_server.serve("/members/exclusive", "<p>paid</p>")
    slow = news_server.serve("/slow", (PAGES / "chip-plant.html").read_text(), delay=3.0)
    huge = news_server.serve("/huge", stream_bytes=20_000_000)
    to_file = news_server.serve("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    refused_target = f"http://127.0.0.2:{refused_listener.getsockname()[1]}/internal"
    to_refused = news_server.serve("/to-internal", status=302, headers={"Location": refused_target})
    items = [
        {"title": "Strike ends", "link": strike, "pubDate": "Thu, 14 Mar 2024 07:45:00 +0000"},
        {"title": "Cup final", "link": cup},
        *(
            {"title": f"Bad {n}", "link": link}
            for n, link in enumerate([members, slow, huge, to_file, to_refused])
        ),
    ]
    feed = news_server.serve("/rss.xml", rss("Coastal Wire", items), content_type="application/rss+xml")
    db = tmp_path / "index"
    env = {
        "NEWSDESK_HOME": str(tmp_path / "home"),
        "NEWSDESK_FETCH_ALLOW": "127.0.0.1",
        "NEWSDESK_FETCH_HOST_INTERVAL": "0",
        "NEWSDESK_FETCH_TIMEOUT": "1",
        "NEWSDESK_FETCH_RETRIES": "0",
        "NEWSDESK_FETCH_MAX_BYTES": "500000",
    }

    done = run_newsdesk("index", feed, "--db", str(db), env=env)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "added: https://www.coastalherald.example/news/2024/03/14/saltmere-dock-strike-ends" in out
    assert "added: https://sportsdaily.example/football/kestrel-town-northern-cup-final" in out
    own_text = "and the feed entry has no text of its own"
    assert f"skipped: {members}: robots.txt of {news_server.url('')} disallows {members}, {own_text}" in out
    assert f"skipped: {slow}: timed out after 1 s, {own_text}" in out
    assert f"skipped: {huge}: too large (over 500,000 bytes), {own_text}" in out
    assert (
        f"skipped: {to_file}: redirect to file:///etc/passwd refused: only http and https URLs are fetched, "
        f"{own_text}"
    ) in out
    assert any(
        line.startswith(
            f"skipped: {to_refused}: redirect to {refused_target} refused: 127.0.0.2 is a loopback"
        )
        for line in out
    )
    with pytest.raises(BlockingIOError):
        refused_listener.accept()  # nothing ever connected to the refused address
    assert news_server.requests_for("/members/exclusive") == 0
    assert "added 2, updated 0, unchanged 0, duplicates 0 (0 new), skipped 5" in out[-1]

    answer = ask("Who is the chief executive of the port in Saltmere?", db, env)
    assert answer["abstained"] is False and "Marion Hale" in str(answer["answer"])
    [lead, *_] = answer["citations"]  # type: ignore[misc]
    assert (lead["title"], lead["published"], lead["source"]) == (
        HEADLINE,
        "2024-03-14",
        "The Coastal Herald",
    )
    assert lead["url"] == "https://www.coastalherald.example/news/2024/03/14/saltmere-dock-strike-ends"

    for question in (BANNER_QUESTION, RELATED_QUESTION):
        refused = ask(question, db, env)
        assert refused["abstained"] is True, (question, refused["answer"])
        assert refused["citations"] == []

    # Control: the same questions are answered once the banner and related-stories text is indexed,
    # as the visible-text reader used to index it; so the refusals above come from what was left out.
    control = tmp_path / "control" / "page-furniture.txt"
    control.parent.mkdir()
    control.write_text(
        "The Coastal Herald\nWe use cookies to personalise content and ads. Our 47 advertising partners "
        "store cookies for up to 13 months.\nRelated stories\nFerry operator cancels winter crossings to "
        "Holm Island\n",
        encoding="utf-8",
    )
    control_db = tmp_path / "control-index"
    assert run_newsdesk("index", str(control), "--db", str(control_db), env=env).returncode == 0
    assert "47 advertising partners" in str(ask(BANNER_QUESTION, control_db, env)["answer"])
    assert "Holm Island" in str(ask(RELATED_QUESTION, control_db, env)["answer"])

    again = run_newsdesk("index", feed, "--db", str(db), env=env)
    assert "added 0, updated 0, unchanged 2" in again.stdout.splitlines()[-1]
