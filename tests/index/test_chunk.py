"""Chunking: whole sentences, bounded size, small overlap, exact offsets into the article."""

from __future__ import annotations

from itertools import pairwise

from newsdesk.index.chunk import chunk_article, embedding_text
from newsdesk.index.load import Article, load_paths
from newsdesk.reading.sentences import sentence_spans
from tests.conftest import SEED_ARTICLE


def seed() -> Article:
    return load_paths([SEED_ARTICLE]).articles[0]


def test_every_chunk_is_the_article_text_at_its_offsets() -> None:
    article = seed()
    chunks = chunk_article(article, max_chars=400, overlap=1)
    assert len(chunks) > 2
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 400
    assert [c.number for c in chunks] == list(range(len(chunks)))


def test_chunks_never_cut_a_sentence_and_neighbours_share_one_when_it_fits() -> None:
    article = seed()
    boundaries = set(sentence_spans(article.text))
    starts = {s for s, _ in boundaries}
    ends = {e for _, e in boundaries}
    chunks = chunk_article(article, max_chars=400, overlap=1)
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends
    for left, right in pairwise(chunks):
        assert right.end > left.end, "every chunk brings a new sentence"
    overlapping = [right.start < left.end for left, right in pairwise(chunks)]
    assert any(overlapping), "neighbours share a sentence where it fits in max_chars"


def test_a_sentence_longer_than_the_limit_is_kept_whole() -> None:
    long_sentence = "word " * 300 + "end."
    article = Article(id="x", title="", text=long_sentence)
    [chunk] = chunk_article(article, max_chars=200)
    assert chunk.text == long_sentence.strip()


def test_whole_article_is_covered() -> None:
    article = seed()
    chunks = chunk_article(article, max_chars=500)
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for start, end in sentence_spans(article.text):
        assert set(range(start, end)) <= covered


def test_embedding_text_adds_the_headline_for_context() -> None:
    article = seed()
    chunks = chunk_article(article, max_chars=400)
    assert embedding_text(article, chunks[0]) == chunks[0].text  # already starts with the title
    assert embedding_text(article, chunks[-1]).startswith(article.title + "\n")
