"""Chunk step: sentence-aware chunks that keep their character offsets in the article.

A chunk is a run of whole sentences (``newsdesk.reading.sentences``; never a cut one), at most
``max_chars`` long unless one sentence alone is longer, sharing ``overlap`` sentences with its
neighbour. ``article.text[start:end]`` is always exactly the chunk's text, which is what lets a
citation point at a verbatim span.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdesk.index.load import Article
from newsdesk.reading.sentences import sentence_spans


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article."""

    article_id: str
    number: int
    start: int
    end: int
    text: str
    entities: str | None = None
    """Named entities of the chunk (``index/entities.py``: JSON, offsets in ``text``); None: not sought."""
    title_entities: str | None = None
    """Named entities of the article's headline (offsets in the title); None: not looked for."""


def chunk_article(article: Article, max_chars: int = 700, overlap: int = 1) -> list[Chunk]:
    """Group an article's sentences into chunks of at most ``max_chars`` characters."""
    sentences = sentence_spans(article.text)
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        while last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= max_chars:
            last += 1
        start, end = sentences[first][0], sentences[last][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, article.text[start:end]))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - overlap)
        if sentences[last + 1][1] - sentences[first][0] > max_chars:
            first = last + 1  # the overlap would not fit beside the next sentence: no overlap here
    return chunks


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What gets embedded for a chunk: the headline (context for short passages) and the chunk."""
    if article.title and not chunk.text.startswith(article.title):
        return f"{article.title}\n{chunk.text}"
    return chunk.text
