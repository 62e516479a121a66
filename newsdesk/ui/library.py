"""The indexed articles as the app shows them: one article's whole text, and the paged, filtered list.

An article's text is put back together from its chunks (each records its offsets in the article), so
the app can show a quote inside its passage and the whole article around it without the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from newsdesk.dates import parse_day, parse_until, published_day
from newsdesk.index.store import ChunkStore
from newsdesk.rag.types import also_in_of
from newsdesk.reading.outlets import outlet_key
from newsdesk.ui.public import public_link

MAX_SHOWN_CHARS = 200_000
"""Longest article text the app sends (a whole article longer than that is cut, and says so)."""


@dataclass(frozen=True)
class ArticleText:
    """One indexed article: its metadata and its body (``text``), rebuilt from its chunks."""

    id: str
    title: str
    url: str
    source: str
    published: str
    text: str
    chunks: int
    also_in: list[dict[str, str]] = field(default_factory=list)

    def field_text(self, name: str) -> str:
        """The text a citation's ``field`` names: the headline (``title``) or the body."""
        return self.title if name == "title" else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "text": self.text[:MAX_SHOWN_CHARS],
            "truncated": len(self.text) > MAX_SHOWN_CHARS,
            "chunks": self.chunks,
            "also_in": self.also_in,
        }


def rebuild_text(pieces: list[tuple[int, int, str]]) -> str:
    """An article's text from its chunks' ``(start, end, text)``: overlaps written once; a gap between
    chunks (white space the chunker trimmed) becomes spaces, so every offset still points right."""
    text: list[str] = []
    for start, _end, piece in sorted(pieces):
        length = sum(len(part) for part in text)
        if start > length:
            text.append(" " * (start - length))
            length = start
        overlap = length - start
        if overlap < len(piece):
            text.append(piece[overlap:])
    return "".join(text)


def read_article(store: ChunkStore, article_id: str) -> ArticleText | None:
    """The article with this id, or None when the index does not hold it."""
    with store.reading() as view:
        got = view.collection.get(where={"article_id": article_id}, include=["documents", "metadatas"])
    pairs: list[tuple[str, dict[str, Any]]] = [
        (str(d), dict(m))
        for d, m in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
        if d is not None and m is not None
    ]
    if not pairs:
        return None
    first = min((m for _, m in pairs), key=lambda m: int(m.get("chunk") or 0))
    return ArticleText(
        id=article_id,
        title=str(first.get("title") or ""),
        url=str(first.get("url") or ""),
        source=str(first.get("source") or ""),
        published=str(first.get("published") or ""),
        text=rebuild_text([(int(m.get("start") or 0), int(m.get("end") or 0), d) for d, m in pairs]),
        chunks=len(pairs),
        also_in=also_in_of(first),
    )


_SAFE_URL = re.compile(r"^https?://[^\s<>()\"'`\\]+$")


def public_url(url: str) -> str:
    """An article's link when it is a real http(s) address; '' for a file path or anything else."""
    return url if _SAFE_URL.match(url) else ""


@dataclass(frozen=True)
class Listed:
    """One article as the list shows it (no file path: the origin stays on the server)."""

    id: str
    title: str
    source: str
    published: str
    url: str
    chunks: int
    also_in: list[str]

    def outlets(self) -> list[str]:
        return [self.source, *self.also_in] if self.source else list(self.also_in)


@dataclass(frozen=True)
class ArticleFilter:
    """What the list is narrowed to: words of the headline or outlet (``query``), outlets, dates."""

    query: str = ""
    sources: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def problem(self) -> str | None:
        """A message for a malformed date, else None."""
        try:
            self._days()
        except ValueError as error:
            return f"Please check the dates: {error}."
        return None

    def _days(self) -> tuple[int, int]:
        first = parse_day(self.since) if self.since else 0
        last = parse_until(self.until) if self.until else 99_999_999
        return first, last

    def keeps(self, article: Listed) -> bool:
        words = self.query.casefold().split()
        haystack = f"{article.title} {' '.join(article.outlets())}".casefold()
        if not all(word in haystack for word in words):
            return False
        wanted = {outlet_key(s) for s in self.sources if s.strip()}
        if wanted and not wanted & {outlet_key(o) for o in article.outlets()}:
            return False
        if self.since or self.until:
            first, last = self._days()
            day = published_day(article.published)
            return bool(day) and first <= day <= last
        return True


class Catalog:
    """The indexed articles, newest first, read once per view of the index (a refresh re-reads them).

    Visitors know an article by its shown id: a file-indexed article's stored id is a path on the
    server (``file:///srv/news/feed.jsonl#12``), shown as the file's name (``feed.jsonl#12``) unless
    ``show_paths``; ``resolve`` and ``read`` take either form.
    """

    def __init__(self, store: ChunkStore, show_paths: bool = False) -> None:
        self.store = store
        self.show_paths = show_paths
        self._lock = threading.Lock()
        self._cached: tuple[int, int, list[Listed]] | None = None
        self._stored: dict[str, str] = {}

    def shown_id(self, stored: str) -> str:
        """The id visitors see for the article stored as ``stored``."""
        return stored if self.show_paths else public_link(stored)

    def resolve(self, shown: str) -> str | None:
        """The stored id of the article shown as ``shown`` (or stored so); None when there is none."""
        self.articles()
        with self._lock:
            if shown in self._stored:
                return self._stored[shown]
            return shown if shown in self._stored.values() else None

    def read(self, shown: str) -> ArticleText | None:
        """The article shown as ``shown``: its text and metadata, under its shown id."""
        stored = self.resolve(shown)
        article = read_article(self.store, stored) if stored is not None else None
        return dataclasses.replace(article, id=self.shown_id(article.id)) if article is not None else None

    def articles(self) -> list[Listed]:
        key = (self.store.generation, self.store.count())
        with self._lock:
            if self._cached is not None and self._cached[:2] == key:
                return self._cached[2]
        stored = list(self.store.articles())
        names = [self.shown_id(a.id) for a in stored]
        repeated = {name for name in names if names.count(name) > 1}
        # Two files of one name in different folders: told apart by a digest of where they are.
        shown = [
            f"{name}~{hashlib.sha256(a.id.encode()).hexdigest()[:8]}" if name in repeated else name
            for a, name in zip(stored, names, strict=True)
        ]
        listed = [
            Listed(
                id=name,
                title=str(a.metadata.get("title") or ""),
                source=str(a.metadata.get("source") or ""),
                published=str(a.metadata.get("published") or ""),
                url=public_url(str(a.metadata.get("url") or "")),
                chunks=a.chunks,
                also_in=[o.get("source", "") for o in a.also_in if o.get("source")],
            )
            for a, name in zip(stored, shown, strict=True)
        ]
        listed.sort(key=lambda a: (a.published, a.title), reverse=True)
        with self._lock:
            self._cached = (*key, listed)
            self._stored = {name: a.id for a, name in zip(stored, shown, strict=True)}
        return listed

    def page(self, wanted: ArticleFilter, page: int, per_page: int) -> tuple[int, list[Listed]]:
        """How many articles match, and those of page ``page`` (from 1)."""
        matching = [a for a in self.articles() if wanted.keeps(a)]
        start = (page - 1) * per_page
        return len(matching), matching[start : start + per_page]

    def example_questions(self, count: int = 3) -> list[str]:
        """Questions about the newest articles, made from their headlines (none for an empty index)."""
        questions = []
        for article in self.articles():
            headline = " ".join(article.title.split()).rstrip(".?!:;")
            if 3 <= len(headline) <= 150:
                questions.append(f"Tell me about {headline}")
            if len(questions) == count:
                break
        return questions
