"""Store step: chunks and their vectors in a Chroma collection with cosine distance.

Chunk ids derive from the article's identity, its content hash and the chunk number, and every
chunk records how many chunks its version has. That makes writes idempotent and crash-safe: a
version is complete when all its chunks are present; an incomplete or outdated one is rewritten
and the chunks of other versions are deleted, so no run leaves duplicates or orphans behind.
Embeddings are always supplied by Newsdesk: Chroma's own default would download a model.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from newsdesk.index.chunk import Chunk
from newsdesk.index.lexical import LexicalIndex
from newsdesk.index.load import Article

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

SCHEMA_VERSION = 1
DEFAULT_SPACE = "all-MiniLM-L6-v2"
"""The embedding space of the packaged model (torch fp32 and ONNX int8 alike), and of indexes made
before the space was recorded."""
_PAGE = 5000
_WRITE_BATCH = 1000  # chunks per Chroma upsert (its limit is about 5,000)


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
        url: a Chroma server (http://host:port) instead of the embedded store. Default: none.
        lexical_path: the BM25 mirror's SQLite file; none for dense only. Default: none.
        lexical_max_term_share: see ``LexicalIndex``. Default: 0.1.
        space: the embedding model's name (``Embedder.space``), recorded when the collection is made
            and checked when it is opened, so vectors of two models never mix. Default: not checked.
    """

    def __init__(
        self,
        path: Path,
        collection: str = "newsdesk-chunks",
        url: str | None = None,
        lexical_path: Path | None = None,
        lexical_max_term_share: float = 0.1,
        space: str | None = None,
    ) -> None:
        self.path = path
        self.space = space
        self.collection_name = collection
        self.url = url
        self.lexical: LexicalIndex | None = (
            LexicalIndex(lexical_path, max_term_share=lexical_max_term_share)
            if lexical_path is not None
            else None
        )
        self._collection: Collection | None = None
        self._open_lock = threading.Lock()

    @property
    def where(self) -> str:
        """Where the chunks live, for messages."""
        return f"{self.url} (collection {self.collection_name})" if self.url else str(self.path)

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            with self._open_lock:
                if self._collection is None:
                    collection = self._open()
                    self._collection = collection
                    self.refresh_lexical(full=False)
        return self._collection

    def open(self) -> None:
        """Open the collection now (an unusable index fails here, with its message)."""
        _ = self.collection

    def data_version(self) -> float | None:
        """When the embedded store's files last changed (None with a server), to notice other writers."""
        if self.url:
            return None
        stamps = [p.stat().st_mtime for p in self.path.glob("chroma.sqlite3*") if p.is_file()]
        return max(stamps, default=0.0)

    def reopen(self) -> None:
        """See writes made by another process since this one opened the embedded store.

        Embedded Chroma keeps one cached system per folder and process, whose in-memory view does
        not follow other processes; dropping the cache makes the next access open a fresh view
        (requests already running keep the old one).
        """
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._open_lock:
            if not self.url:
                SharedSystemClient.clear_system_cache()
            self._collection = None

    def refresh_lexical(self, full: bool = False) -> tuple[int, int]:
        """Bring the lexical mirror in line with Chroma (after a crash, or another process's writes).

        Without ``full``, the id sets are compared only when the counts differ, which is what any
        interrupted write leaves behind; ``full`` compares them always (periodic refresh in the app).
        """
        if self.lexical is None:
            return (0, 0)
        if not full and self.lexical.count() == self.count():
            return (0, 0)
        return self.lexical.sync(self)

    def lease_collection(self) -> Any:
        """The server's small side collection that holds the writer lease (see ``index.lock``)."""
        return self._client().get_or_create_collection(
            f"{self.collection_name}-writer", metadata={"newsdesk": "writer lease"}, embedding_function=None
        )

    def dedup_collection(self) -> Any:
        """The server's side collection of near-duplicate signatures (see ``index.dedup``)."""
        return self._client().get_or_create_collection(
            f"{self.collection_name}-dedup",
            metadata={"newsdesk": "near-duplicate signatures"},
            embedding_function=None,
        )

    def _client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise IndexUnavailable(f"Chroma URL {self.url!r} must look like http://host:port")
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        if self.path.exists() and not self.path.is_dir():
            raise IndexUnavailable(f"index path {self.path} is a file, not a folder: pass another --db")
        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.path), settings=settings)

    def _open(self) -> Collection:
        try:
            client = self._client()
            metadata: dict[str, Any] = {"hnsw:space": "cosine", "newsdesk_schema": SCHEMA_VERSION}
            if self.space:
                metadata["newsdesk_space"] = self.space
            collection = client.get_or_create_collection(
                self.collection_name, metadata=metadata, embedding_function=None
            )
            collection.count()  # touches the vector segment: a corrupted one fails here, not later
        except IndexUnavailable:
            raise
        except Exception as error:  # chromadb raises many kinds; all mean the index is unusable
            if self.url:
                raise IndexUnavailable(
                    f"cannot reach the Chroma server at {self.url} ({type(error).__name__}: {error}). "
                    f"Start it (chroma run --path DIR --host 127.0.0.1 --port PORT) or fix --chroma-url"
                ) from error
            raise IndexUnavailable(
                f"cannot open the index at {self.path} ({type(error).__name__}: {error}). "
                f"If it is corrupted or from another version, move it away and re-index: "
                f"newsdesk index ARTICLES --db {self.path}"
            ) from error
        schema = (collection.metadata or {}).get("newsdesk_schema")
        if schema != SCHEMA_VERSION:
            raise IndexUnavailable(
                f"the collection {self.collection_name!r} at {self.where} was not made by this Newsdesk "
                f"(schema {schema!r}, expected {SCHEMA_VERSION}). Use another --db or "
                f"NEWSDESK_COLLECTION, or move it away and re-index"
            )
        built_with = (collection.metadata or {}).get("newsdesk_space", DEFAULT_SPACE)
        if self.space and built_with != self.space:
            raise IndexUnavailable(
                f"the index at {self.where} holds vectors of the embedding model {built_with!r}, and this "
                f"run embeds with {self.space!r}: their vectors cannot be compared. Set "
                f"NEWSDESK_EMBEDDING_MODEL back, or index into another --db (or NEWSDESK_COLLECTION)"
            )
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
        self.write_articles([(article, chunks, vectors)])

    def write_articles(
        self,
        items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]],
        new: Set[str] = frozenset(),
    ) -> None:
        """Store a batch of articles' chunks in few calls, then delete their other versions' chunks.

        New chunks go in before old ones go out, so a crash in between leaves extra chunks that the
        next run removes (their article is incomplete or has two versions), never missing ones.
        ``new`` names articles the caller found without any chunk in the index (under its lock): they
        have no other versions, so the lookup for them is skipped (it scans metadata: costly at scale).
        """
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[Any] = []
        vectors: list[np.ndarray] = []
        current: dict[str, str] = {}
        for article, chunks, article_vectors in items:
            current[article.id] = article.content_hash
            ids.extend(chunk_id(article.id, article.content_hash, c.number) for c in chunks)
            texts.extend(c.text for c in chunks)
            metadatas.extend(chunk_metadata(article, c, len(chunks)) for c in chunks)
            vectors.append(np.asarray(article_vectors, dtype=np.float32).reshape(len(chunks), -1))
        for start in range(0, len(ids), _WRITE_BATCH):
            part = slice(start, start + _WRITE_BATCH)
            self.collection.upsert(
                ids=ids[part],
                embeddings=np.concatenate(vectors)[part],
                documents=texts[part],
                metadatas=metadatas[part],
            )
            if self.lexical is not None:
                self.lexical.upsert(ids[part], texts[part], metadatas[part])
        stale: list[str] = []
        article_ids = [article_id for article_id in current if article_id not in new]
        for start in range(0, len(article_ids), 500):
            where: Any = {"article_id": {"$in": article_ids[start : start + 500]}}
            got = self.collection.get(where=where, include=["metadatas"])
            for chunk, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                if meta.get("content_hash") != current.get(str(meta.get("article_id"))):
                    stale.append(chunk)
        if stale:
            self.collection.delete(ids=stale)
            if self.lexical is not None:
                self.lexical.delete(stale)

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        for start in range(0, len(ids), 500):
            where: Any = {"article_id": {"$in": ids[start : start + 500]}}
            doomed = self.collection.get(where=where, include=[])["ids"]
            if doomed:
                self.collection.delete(ids=doomed)
                if self.lexical is not None:
                    self.lexical.delete(doomed)

    def all_ids(self) -> set[str]:
        """Every chunk id in the collection."""
        ids: set[str] = set()
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=_PAGE, offset=offset)
            ids.update(got["ids"])
            if len(got["ids"]) < _PAGE:
                return ids
            offset += _PAGE

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of the given chunks."""
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [
            (i, str(d), dict(m))
            for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        ]

    def embeddings_of(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunks (to score lexical-only hits by similarity too)."""
        if not ids:
            return {}
        try:
            got = self.collection.get(ids=list(ids), include=["embeddings"])
        except Exception:  # chromadb: "Error finding id": this process's view of an embedded index is
            # older than the BM25 mirror, which another process's indexing run has just updated
            self.reopen()
            try:
                got = self.collection.get(ids=list(ids), include=["embeddings"])
            except Exception:
                return {}  # not visible yet: those hits are scored by BM25 alone this once
        vectors = got["embeddings"]
        if vectors is None:
            return {}
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], vectors, strict=True)}

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
        self, vector: Sequence[float] | np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The ``k`` chunks nearest to ``vector``, best first (fewer when the index holds fewer)."""
        got = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=k,
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

    def set_also_in(self, article_id: str, also_in: str | None) -> int:
        """Set the ``also_in`` metadata of every chunk of an article (None removes it).

        ``also_in`` names the near-duplicates of the article (index/dedup.py): a JSON list of
        ``{"article_id", "title", "source", "url", "published"}``. Only chunks whose value differs are
        rewritten in Chroma (a metadata update, no re-embedding); the lexical mirror, whose id-based
        ``sync`` cannot see metadata changes, is rewritten for the whole article. Returns the number
        of chunks changed in Chroma.
        """
        where: Any = {"article_id": article_id}
        got = self.collection.get(where=where, include=["documents", "metadatas"])
        ids, docs, metas = got["ids"], got["documents"] or [], got["metadatas"] or []
        changed = [i for i, m in zip(ids, metas, strict=True) if m.get("also_in") != also_in]
        if changed:
            updates: list[Any] = [{"also_in": also_in} for _ in changed]
            self.collection.update(ids=changed, metadatas=updates)
        if self.lexical is not None and ids:
            full: list[dict[str, Any]] = []
            for meta in metas:
                merged = {k: v for k, v in dict(meta).items() if k != "also_in"}
                if also_in is not None:
                    merged["also_in"] = also_in
                full.append(merged)
            self.lexical.upsert(ids, [str(d) for d in docs], full)
        return len(changed)


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
        "published_day": published_day(article.published),
    }


def published_day(published: str) -> int:
    """YYYY-MM-DD as the integer YYYYMMDD (0 when unknown), so Chroma can filter date ranges."""
    digits = published[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0
