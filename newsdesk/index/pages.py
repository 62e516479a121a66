"""Article pages: the story (headline apart from the body) and its metadata, without the page around it.

A saved or fetched news page is mostly not the article: menus, cookie banners, related-story lists,
comments, newsletter boxes, footers. trafilatura (the field's standard main-text extractor) finds the
article's own blocks; its metadata reader takes the headline, outlet, author, date and canonical URL
from OpenGraph, JSON-LD (``NewsArticle``) and ``<time>``. On top of it, two rules that hold on any news:

- the headline is kept apart from the body (``Article.title``), never repeated as its first line;
- a block that is mostly links ("Read more: ...", "More: a | b | c", a "Related" list) is left out, as
  is a subheading left with nothing under it. Subheadings stay as Markdown headings (``## ...``), which
  the reader shows and cites as headings, not as the article's statements; list items stay ``- ...``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from newsdesk.dates import normalise_published

LINK_SHARE = 0.5
"""A block whose linked words are at least this share of its words (a leading label such as
"Read more:" not counted) is a link list, not the article's text."""

_LABEL = re.compile(r"^\s*[^.!?:]{0,30}:\s*")
_BLOCKS = ("p", "head", "list", "quote", "table", "code")


@dataclass(frozen=True)
class Page:
    """What an article page says about itself; '' for what it does not say."""

    title: str
    text: str
    url: str = ""
    published: str = ""
    source: str = ""
    author: str = ""


class NoArticleText(ValueError):
    """The page holds no text that reads as an article."""


def _words(text: str) -> int:
    return len(text.split())


def _text_of(element: Any) -> str:
    """An element's text: its line breaks (``<lb/>``) kept, other white space folded as a browser does."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        parts.append("\n" if node.tag == "lb" else (node.text or "").replace("\n", " "))
        for child in node:
            walk(child)
            parts.append((child.tail or "").replace("\n", " "))

    walk(element)
    return "\n".join(" ".join(line.split()) for line in "".join(parts).split("\n") if line.strip())


def _link_share(element: Any) -> float:
    """The share of a block's words that are link text, a leading "Label:" left out."""
    text = " ".join(_text_of(element).split())
    linked = sum(_words(" ".join(ref.itertext())) for ref in element.iter("ref"))
    words = _words(_LABEL.sub("", text, count=1)) if linked else _words(text)
    return linked / words if words else 0.0


def _is_link_list(element: Any) -> bool:
    if element.tag == "list":
        items = list(element.iter("item"))
        return bool(items) and all(_link_share(item) >= LINK_SHARE for item in items)
    return element.tag != "head" and _link_share(element) >= LINK_SHARE


def _render(element: Any) -> str:
    """One block as text: subheadings as Markdown headings, list items as ``- ``, quotes as ``> ``."""
    if element.tag == "head":
        level = min(max(int((element.get("rend") or "h2").lstrip("h") or 2), 2), 6)
        return f"{'#' * level} {' '.join(_text_of(element).split())}"
    if element.tag == "list":
        lines = []
        for item in element.iter("item"):
            if _link_share(item) < LINK_SHARE and (line := " ".join(_text_of(item).split())):
                lines.append(f"- {line}")
        return "\n".join(lines)
    if element.tag == "quote":
        return "\n".join(f"> {line}" for line in _text_of(element).split("\n"))
    if element.tag == "table":
        rows = [
            " | ".join(" ".join(_text_of(c).split()) for c in row.iter("cell")) for row in element.iter("row")
        ]
        return "\n".join(row for row in rows if row.strip(" |"))
    return _text_of(element)


def _same(a: str, b: str) -> bool:
    fold = re.compile(r"\W+")
    return fold.sub(" ", a).strip().casefold() == fold.sub(" ", b).strip().casefold()


def body_text(body: Any, title: str) -> str:
    """The article's blocks as text: no headline, no link lists, no subheading left empty."""
    blocks: list[tuple[str, str]] = []  # (tag, text)
    for element in body:
        if element.tag not in _BLOCKS or _is_link_list(element):
            continue
        text = _render(element).strip()
        if not text:
            continue
        if not blocks and title and _same(text.lstrip("# "), title):
            continue  # the headline: kept apart, as the article's title
        blocks.append((element.tag, text))
    kept = [
        text
        for i, (tag, text) in enumerate(blocks)
        if tag != "head" or (i + 1 < len(blocks) and blocks[i + 1][0] != "head")
    ]
    return "\n".join(kept)


def _published(value: str | None) -> str:
    try:
        return normalise_published(value or "")
    except ValueError:
        return ""


def extract_page(html: str, url: str = "") -> Page:
    """The article of a news page, with the metadata the page gives; ``NoArticleText`` when none.

    ``url`` is where the page came from (it helps resolve relative links); the page's own canonical
    URL (``<link rel=canonical>``, ``og:url``, JSON-LD) wins when it gives one.
    """
    import trafilatura

    # trafilatura logs what it discards at ERROR; the caller reports the page itself (by name or URL).
    quiet = logging.getLogger("trafilatura")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    document: Any = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=True,
        favor_precision=True,
        # The page's own dates (metadata, <time>, the URL), not guesses from its text: a date made up
        # would put the article inside or outside --since/--until wrongly.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if document is None or document.body is None:
        raise NoArticleText("no article text found in the page")
    title = " ".join((document.title or "").split())
    text = body_text(document.body, title)
    if not text.strip():
        raise NoArticleText("no article text found in the page")
    return Page(
        title=title,
        text=text,
        url=document.url or "",
        published=_published(document.date),
        source=" ".join((document.sitename or "").split()),
        author=" ".join((document.author or "").split()),
    )


def fragment_text(html: str) -> str:
    """Visible text of an HTML fragment (a feed entry's own content), paragraphs on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object", "svg"]):
        tag.decompose()
    for tag in soup.find_all(["p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"]):
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().split("\n"))
    return "\n".join(line for line in lines if line)
