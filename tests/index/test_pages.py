"""Article pages: the story and its metadata are kept; the page around it never reaches the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT
from newsdesk.index.load import load_paths
from newsdesk.index.pages import NoArticleText, extract_page

PAGES = REPO_ROOT / "bench" / "pages"
SAVED_PAGES = sorted(PAGES.glob("*.html"))

# What the saved pages carry around their articles: navigation, consent banners, related and
# most-read lists, comments, newsletter and promotion boxes, footers.
BOILERPLATE = [
    "cookies",
    "Accept all",
    "Subscribe",
    "Related stories",
    "Most read",
    "Read more",
    "More:",
    "Related:",
    "Trending",
    "Comments",
    "harbourwatcher",
    "Saw this coming",
    "Robbed. That corner",
    "newsletter",
    "All rights reserved",
    "Privacy",
    "Share on",
    "Eastbridge council approves new bus depot",
    "Popular bakery to close",
    "Bighorn sheep return",
    "player ratings",
    "Bet £10",
]


def test_the_saved_pages_are_a_real_test() -> None:
    assert len(SAVED_PAGES) >= 5


@pytest.mark.parametrize("page", SAVED_PAGES, ids=lambda p: p.stem)
def test_a_news_page_keeps_its_article_and_metadata_and_drops_the_page_around_it(page: Path) -> None:
    [article] = load_paths([page]).articles
    expected = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
    assert article.title == expected["title"]
    assert article.published == expected["published"]
    assert article.source == expected["source"]
    assert article.url == expected["url"]
    assert article.author in (expected["author"], "")  # a byline in a bare <span> is not metadata
    gold = page.with_suffix(".gold.txt").read_text(encoding="utf-8").splitlines()
    body_lines = [
        line for line in gold[1:] if not line.startswith(("Evacuation map", "—", "Container cranes"))
    ]
    for line in body_lines:
        assert line in article.text.replace("## ", "").replace("### ", ""), line
    assert not article.text.startswith(expected["title"])  # the headline is the title, not the body
    leaked = [phrase for phrase in BOILERPLATE if phrase.casefold() in article.text.casefold()]
    assert leaked == []


def test_every_saved_page_has_its_author_but_one_whose_byline_is_no_metadata() -> None:
    authors = {page.stem: load_paths([page]).articles[0].author for page in SAVED_PAGES}
    assert [stem for stem, author in authors.items() if not author] == ["cup-final"]


def test_link_lists_and_the_subheadings_left_over_them_are_left_out_but_inline_links_stay() -> None:
    html = """<html><head><title>Bridge reopens</title></head><body><article>
    <h1>Bridge reopens</h1>
    <p>The Millbank bridge reopened on Friday after <a href="/a">repairs</a> that took nine months and
    cost the county about 4.2 million pounds, officials said at a ceremony attended by 300 people.</p>
    <p>Read more: <a href="/b">How the bridge cracked</a></p>
    <h2>Traffic returns</h2>
    <p>About 18,000 vehicles a day are expected to use the crossing again, according to the county's
    transport department, which said buses would return to their old routes from Monday morning.</p>
    <h2>Related</h2>
    <ul><li><a href="/c">Ferry fares rise</a></li>
    <li><a href="/d">New cycle lane opens on Quay Street</a></li></ul>
    </article></body></html>"""
    page = extract_page(html)
    assert page.title == "Bridge reopens"
    assert page.text.splitlines() == [
        "The Millbank bridge reopened on Friday after repairs that took nine months and cost the county "
        "about 4.2 million pounds, officials said at a ceremony attended by 300 people.",
        "## Traffic returns",
        "About 18,000 vehicles a day are expected to use the crossing again, according to the county's "
        "transport department, which said buses would return to their old routes from Monday morning.",
    ]


def test_a_page_with_no_article_text_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(NoArticleText):
        extract_page("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (tmp_path / "empty.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    result = load_paths([tmp_path / "empty.html"])
    assert result.articles == []
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'empty.html'}: no article text found in the page"
    ]
