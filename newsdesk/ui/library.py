"""The indexed articles as the app shows them: one article's whole text, and the paged, filtered list.

An article's text is put back together from its chunks (each records its offsets in the article), so
the app can show a quote inside its passage and the whole article around it without the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newsdesk.index.store import ChunkStore
from newsdesk.rag.types import also_in_of

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
