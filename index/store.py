"""Store step: chunks and their vectors in a Chroma collection with cosine distance.

Chunk ids derive from the article's identity, its content hash and the chunk number, and every
chunk records how many chunks its version has. That makes writes idempotent and crash-safe: a
version is complete when all its chunks are present; an incomplete or outdated one is rewritten
and the chunks of other versions are deleted, so no run leaves duplicates or orphans behind.
Embeddings are always supplied by Newsdesk: Chroma's own default would download a model.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.chunk import Chunk
from index.load import Article

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

SCHEMA_VERSION = 1
_PAGE = 5000


def chunk_id(article_id: str, content_hash: str, number: int) -> str:
    """Deterministic id of one chunk of one version of an article."""
    article_key = hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]
    return f"{article_key}-{content_hash[:12]}-{number:05d}"


@dataclass(frozen=True)
class StoredVersion:
    """What the index holds of an article: chunk counts per content hash, and how many are expected."""

    chunks_by_hash: dict[str, int]
    expected_by_hash: dict[str, int]

    def is_complete(self, content_hash: str) -> bool:
        """True when exactly this version, with all its chunks, is stored."""
        return set(self.chunks_by_hash) == {content_hash} and self.chunks_by_hash[
            content_hash
        ] == self.expected_by_hash.get(content_hash, -1)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its similarity to a query (cosine, -1 to 1)."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float


class IndexUnavailable(RuntimeError):
    """The index folder cannot be opened; the message says how to fix it."""


class ChunkStore:
    """A Chroma collection of chunks, opened lazily.

    Args:
        path: folder of the embedded (persistent) Chroma.
        collection: collection name. Default: newsdesk-chunks.
    """

    def __init__(self, path: Path, collection: str = "newsdesk-chunks") -> None:
        self.path = path
        self.collection_name = collection
        self._collection: Collection | None = None

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = self._open()
        return self._collection

    def _open(self) -> Collection:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if self.path.exists() and not self.path.is_dir():
            raise IndexUnavailable(f"index path {self.path} is a file, not a folder: pass another --db")
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            client = chromadb.PersistentClient(
                path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            collection = client.get_or_create_collection(
                self.collection_name,
                metadata={"hnsw:space": "cosine", "newsdesk_schema": SCHEMA_VERSION},
                embedding_function=None,
            )
        except Exception as error:  # chromadb raises many kinds; all mean the folder is unusable
            raise IndexUnavailable(
                f"cannot open the index at {self.path} ({type(error).__name__}: {error}). "
                f"If it is corrupted or from another version, move it away and re-index: "
                f"newsdesk index ARTICLES --db {self.path}"
            ) from error
        return collection

    def count(self) -> int:
        return int(self.collection.count())

    def stored_versions(self, article_ids: Sequence[str]) -> dict[str, StoredVersion]:
        """What the index holds for each of ``article_ids`` (absent ids are left out)."""
        found: dict[str, tuple[Counter[str], dict[str, int]]] = {}
        for start in range(0, len(article_ids), 500):
            batch = list(article_ids[start : start + 500])
            where: Any = {"article_id": {"$in": batch}}
            got = self.collection.get(where=where, include=["metadatas"])
            for meta in got["metadatas"] or []:
                counts, expected = found.setdefault(str(meta["article_id"]), (Counter(), {}))
                content_hash = str(meta["content_hash"])
                counts[content_hash] += 1
                expected[content_hash] = int(meta["n_chunks"])  # type: ignore[arg-type]
        return {aid: StoredVersion(dict(c), e) for aid, (c, e) in found.items()}

    def write_article(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store this version's chunks, then delete every other version's chunks of the article."""
        content_hash = article.content_hash
        if chunks:
            self.collection.upsert(
                ids=[chunk_id(article.id, content_hash, c.number) for c in chunks],
                embeddings=vectors,
                documents=[c.text for c in chunks],
                metadatas=[chunk_metadata(article, c, len(chunks)) for c in chunks],
            )
        stale: Any = {"$and": [{"article_id": article.id}, {"content_hash": {"$ne": content_hash}}]}
        self.collection.delete(where=stale)

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        for start in range(0, len(ids), 500):
            where: Any = {"article_id": {"$in": ids[start : start + 500]}}
            self.collection.delete(where=where)

    def article_ids(self) -> set[str]:
        """Every article id in the index."""
        ids: set[str] = set()
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metas = got["metadatas"] or []
            ids.update(str(m["article_id"]) for m in metas)
            if len(metas) < _PAGE:
                return ids
            offset += _PAGE

    def search(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The ``k`` chunks nearest to ``vector``, best first."""
        total = self.count()
        if total == 0:
            return []
        got = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=min(k, total),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = got["ids"][0]
        docs = (got["documents"] or [[]])[0]
        metas = (got["metadatas"] or [[]])[0]
        dists = (got["distances"] or [[]])[0]
        return [
            StoredChunk(i, str(d), dict(m), 1.0 - float(dist))
            for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)
        ]


def chunk_metadata(article: Article, chunk: Chunk, n_chunks: int) -> dict[str, str | int]:
    """Everything a citation needs, stored beside the chunk."""
    return {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "source": article.source,
        "author": article.author,
        "chunk": chunk.number,
        "start": chunk.start,
        "end": chunk.end,
        "content_hash": article.content_hash,
        "n_chunks": n_chunks,
    }
