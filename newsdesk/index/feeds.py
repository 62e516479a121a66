"""Feeds and URLs: RSS 2.0 and Atom (feedparser), local feed files, and single news pages, as articles.

Each feed entry's link is fetched (``index/fetch.py``) and its article extracted (``index/pages.py``),
so the index holds the story, not the feed's teaser; when the page cannot be had (refused, disallowed
by robots.txt, too slow, too large, no article text), the entry's own content is indexed instead, and
the run says so. An article fetched from the web is known by its canonical URL (the page's
``<link rel=canonical>``, else the URL it was fetched from), so the same story reached twice (two feeds,
a feed and the page itself, tracking parameters) is indexed once; near-duplicates from other outlets
are then caught by the indexer's MinHash check as for files.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsdesk.dates import normalise_published
from newsdesk.index.fetch import Fetched, Fetcher, FetchError
from newsdesk.index.load import (
    Article,
    LoadResult,
    Problem,
    UnreadableFile,
    canonical,
    decode_bytes,
    read_regular_file,
)
from newsdesk.index.pages import NoArticleText, extract_page, fragment_text

FEED_SUFFIXES = (".rss", ".atom", ".xml")
"""Local files read as feeds (their entries' links are fetched)."""

_FEED_START = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


def is_url(text: str) -> bool:
    return urlsplit(text).scheme.lower() in ("http", "https")


def is_feed_file(path: Path) -> bool:
    return path.suffix.lower() in FEED_SUFFIXES


def looks_like_feed(content_type: str, raw: bytes) -> bool:
    """Whether an answer is a feed (RSS, Atom, RDF) rather than a page: by its start, else its type."""
    if _FEED_START.match(raw.removeprefix(b"\xef\xbb\xbf")[:4096]):
        return True
    return content_type.split(";", 1)[0].strip().lower() in _FEED_TYPES


@dataclass(frozen=True)
class FeedEntry:
    """One entry as the feed gives it."""

    key: str
    """Its id (``<guid>``, ``<id>``), else its link: what says two polls saw the same entry."""
    link: str
    title: str = ""
    published: str = ""
    author: str = ""
    content: str = ""
    """Its own content or summary (HTML)."""

    @property
    def digest(self) -> str:
        """Changes when the entry changes (a corrected title, date, link or content)."""
        payload = json.dumps([self.link, self.title, self.published, self.author, self.content])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Feed:
    title: str
    entries: tuple[FeedEntry, ...]


class NotAFeed(ValueError):
    """Bytes that hold no RSS or Atom feed."""


def entry_day(raw: str) -> str:
    """A feed date as the day it names: RFC 822 (RSS) or ISO 8601 (Atom); '' when it is neither."""
    text = raw.strip()
    if not text:
        return ""
    try:
        return normalise_published(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def parse_feed(raw: bytes, base_url: str = "") -> Feed:
    """An RSS 2.0, RSS 1.0 or Atom feed's title and entries; ``NotAFeed`` for anything else.

    The bytes are handed to feedparser as a stream: given a string it could fetch a URL by itself.
    """
    import feedparser

    headers = {"content-location": base_url} if base_url else {}
    parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    entries = []
    for item in parsed.entries:
        link = _text(item.get("link"))
        content = item.get("content") or []
        body = str(content[0].get("value", "")) if content else str(item.get("summary", "") or "")
        key = _text(item.get("id")) or link
        if not key:
            continue
        entries.append(
            FeedEntry(
                key=key,
                link=link,
                title=_text(item.get("title")),
                published=entry_day(str(item.get("published") or item.get("updated") or "")),
                author=_text(item.get("author")),
                content=body,
            )
        )
    return Feed(title=_text(parsed.feed.get("title")), entries=tuple(entries))


@dataclass
class SourceResult(LoadResult):
    """Articles and problems, plus what the user should know that is not a failure (``notes``)."""

    notes: list[str] = field(default_factory=list)


@dataclass
class SourceLoader:
    """Turns URLs (pages or feeds) and local feed files into articles with one ``Fetcher``."""

    fetcher: Fetcher

    def load(self, sources: Sequence[str]) -> SourceResult:
        """Every source's articles, each canonical URL once; what fails is reported by its URL or file."""
        result = SourceResult()
        for source in sources:
            if is_url(source):
                self._load_url(source, result)
            else:
                self._load_feed_file(Path(source), result)
        result.articles = self.once_each(result.articles, result)
        return result

    def feed_articles(self, feed: Feed, entries: Iterable[FeedEntry], result: SourceResult) -> None:
        """The articles of some of a feed's entries (all new ones, for a watch round)."""
        for entry in entries:
            article = self.entry_article(feed, entry, result)
            if article is not None:
                result.articles.append(article)

    def _load_url(self, url: str, result: SourceResult) -> None:
        try:
            fetched = self.fetcher.get(url).ok(url)
        except FetchError as error:
            result.problems.append(Problem(url, error.reason))
            return
        if looks_like_feed(fetched.content_type, fetched.content):
            try:
                feed = parse_feed(fetched.content, fetched.url)
            except NotAFeed as error:
                result.problems.append(Problem(url, str(error)))
                return
            self.feed_articles(feed, feed.entries, result)
            return
        try:
            result.articles.append(self.page_article(fetched))
        except (NoArticleText, UnreadableFile) as error:
            result.problems.append(Problem(url, str(error)))

    def _load_feed_file(self, path: Path, result: SourceResult) -> None:
        try:
            feed = parse_feed(read_regular_file(path), canonical(path).as_uri())
        except (UnreadableFile, NotAFeed) as error:
            result.problems.append(Problem(str(path), str(error)))
            return
        self.feed_articles(feed, feed.entries, result)

    def page_article(self, fetched: Fetched) -> Article:
        """The article of a fetched page, known by its canonical URL."""
        page = extract_page(decode_bytes(fetched.content), fetched.url)
        link = page.url if is_url(page.url) else fetched.url
        return Article(
            id=link,
            title=page.title or page.text.splitlines()[0][:200],
            text=page.text,
            url=link,
            published=page.published,
            source=page.source,
            author=page.author,
        )

    def entry_article(self, feed: Feed, entry: FeedEntry, result: SourceResult) -> Article | None:
        """The entry's page, else its own content (said in ``notes``), else a problem."""
        where = entry.link or entry.key
        why = "the entry has no link"
        if is_url(entry.link):
            try:
                page = self.page_article(self.fetcher.get(entry.link).ok(entry.link))
            except FetchError as error:
                why = error.reason
            except (NoArticleText, UnreadableFile) as error:
                why = str(error)
            else:
                return Article(
                    id=page.id,
                    title=page.title or entry.title,
                    text=page.text,
                    url=page.url,
                    published=page.published or entry.published,
                    source=page.source or feed.title,
                    author=page.author or entry.author,
                )
        text = fragment_text(entry.content) if entry.content else ""
        if not text.strip():
            result.problems.append(Problem(where, f"{why}, and the feed entry has no text of its own"))
            return None
        result.notes.append(f"{where}: the feed entry's own text indexed ({why})")
        return Article(
            id=entry.link if is_url(entry.link) else entry.key,
            title=entry.title or text.splitlines()[0][:200],
            text=text,
            url=entry.link,
            published=entry.published,
            source=feed.title,
            author=entry.author,
        )

    @staticmethod
    def once_each(articles: list[Article], result: SourceResult) -> list[Article]:
        """Each canonical URL once: the first one read is kept, the others are noted."""
        seen: dict[str, Article] = {}
        for article in articles:
            if article.id in seen:
                result.notes.append(f"{article.id}: reached twice (same canonical URL), indexed once")
                continue
            seen[article.id] = article
        return list(seen.values())
