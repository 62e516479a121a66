"""The write path: load, chunk, embed, store; honest about what it did.

Unchanged articles (same id, same content hash, all chunks present) cost one metadata lookup and
no embedding. Articles are written one at a time after their batch is embedded, so an interrupted
run loses at most a batch of work and the next run completes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.chunk import chunk_article, embedding_text
from index.embed import Embedder
from index.load import Article, Problem, load_paths
from index.store import ChunkStore


@dataclass
class IndexReport:
    """What one indexing run did, article by article id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    chunks_written: int = 0

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"skipped {len(self.skipped)}, removed {len(self.removed)} "
            f"({self.chunks_written} chunks written)"
        )


@dataclass
class Indexer:
    """Indexes articles into a ``ChunkStore``.

    Args:
        store: where chunks go.
        embedder: what turns chunk text into vectors.
        max_chars: longest chunk. Default: 700.
        overlap: sentences shared by neighbouring chunks. Default: 1.
        batch_articles: articles embedded together. Default: 64.
    """

    store: ChunkStore
    embedder: Embedder
    max_chars: int = 700
    overlap: int = 1
    batch_articles: int = 64

    def index_paths(
        self, paths: Sequence[Path], prune: bool = False, progress: Callable[[int, int], None] | None = None
    ) -> IndexReport:
        """Index every article under ``paths``; with ``prune``, drop indexed articles no longer there."""
        loaded = load_paths(paths)
        report = self.index_articles(loaded.articles, progress=progress)
        report.skipped[:0] = loaded.problems
        if prune:
            keep = {a.id for a in loaded.articles}
            gone = sorted(self.store.article_ids() - keep)
            self.store.delete_articles(gone)
            report.removed.extend(gone)
        return report

    def index_articles(
        self, articles: Sequence[Article], progress: Callable[[int, int], None] | None = None
    ) -> IndexReport:
        report = IndexReport()
        unique: dict[str, Article] = {}
        for article in articles:
            if article.id in unique:
                report.skipped.append(
                    Problem(article.url or article.id, f"duplicate article id {article.id}")
                )
                continue
            unique[article.id] = article
        ordered = list(unique.values())
        for start in range(0, len(ordered), self.batch_articles):
            self._index_batch(ordered[start : start + self.batch_articles], report)
            if progress is not None:
                progress(min(start + self.batch_articles, len(ordered)), len(ordered))
        return report

    def _index_batch(self, batch: Sequence[Article], report: IndexReport) -> None:
        stored = self.store.stored_versions([a.id for a in batch])
        todo = []
        for article in batch:
            version = stored.get(article.id)
            if version is not None and version.is_complete(article.content_hash):
                report.unchanged.append(article.id)
                continue
            chunks = chunk_article(article, self.max_chars, self.overlap)
            if not chunks:
                report.skipped.append(Problem(article.url or article.id, "no text to index"))
                continue
            todo.append((article, chunks, version is not None))
        if not todo:
            return
        texts = [embedding_text(a, c) for a, chunks, _ in todo for c in chunks]
        vectors = self.embedder.encode(texts)
        offset = 0
        for article, chunks, existed in todo:
            self.store.write_article(article, chunks, vectors[offset : offset + len(chunks)])
            offset += len(chunks)
            report.chunks_written += len(chunks)
            (report.updated if existed else report.added).append(article.id)
