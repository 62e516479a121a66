"""Store step: chunks and their vectors in a Chroma collection with cosine distance.

Chunk ids derive from the article's identity, its content hash and the chunk number, and every
chunk records how many chunks its version has. That makes writes idempotent and crash-safe: a
version is complete when all its chunks are present; an incomplete or outdated one is rewritten
and the chunks of other versions are deleted, so no run leaves duplicates or orphans behind.
Embeddings are always supplied by Newsdesk: Chroma's own default would download a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from newsdesk.config import DEFAULT_COLLECTION
from newsdesk.dates import published_day
from newsdesk.errors import IndexMissing, IndexUnavailable
from newsdesk.index.chunk import Chunk
from newsdesk.index.filters import OutletCatalog
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
_FRESH_SYSTEM = threading.Lock()
"""Guards Chroma's process-wide system cache while a view opens its own system."""


def chunk_id(article_id: str, content_hash: str, number: int) -> str:
    """Deterministic id of one chunk of one version of an article."""
    article_key = hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]
    return f"{article_key}-{content_hash[:12]}-{number:05d}"


@dataclass(frozen=True)
class StoredVersion:
    """What the index holds of an article: chunk counts per content hash, and how many are expected;
    the file(s) its chunks say it came from (None for chunks written before origins were recorded),
    and the recorded files of its near-duplicates (``also_in_origins``)."""

    chunks_by_hash: dict[str, int]
    expected_by_hash: dict[str, int]
    origins: frozenset[str | None] = frozenset()
    duplicate_origins: dict[str, str] = field(default_factory=dict)
    without_entities: int = 0
    """Chunks stored without named entities (indexed before they were found, or with NER off)."""

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


@dataclass
class StoredArticle:
    """An indexed article as ``newsdesk articles`` lists it: its first chunk's metadata, its chunks,
    and the near-duplicates stored with it (``also_in``, each with its recorded ``origin``)."""

    id: str
    metadata: dict[str, Any]
    chunks: int = 0
    also_in: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        meta = self.metadata
        fields = ("title", "source", "published", "url")
        return {
            "id": self.id,
            **{name: str(meta.get(name) or "") for name in fields},
            "chunks": self.chunks,
            "origin": _text_or_none(meta.get("origin")) or None,
            "also_in": self.also_in,
        }


class ChunkView:
    """One opened view of the collection: a question reads from one view from start to end.

    Embedded Chroma keeps an in-memory view per opened system that does not follow other processes'
    writes, so a serving process swaps in a fresh view when the index files change
    (``ChunkStore.refresh_view``). The old view stays usable by the questions already reading from it
    and is closed (its system stopped, its memory returned) when the last of them ends.
    """

    def __init__(self, collection: Collection, system: Any = None, generation: int = 0) -> None:
        self.collection = collection
        self.generation = generation
        self._system = system
        self._readers = 0
        self._retired = False
        self._closed = False
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Count one more reader; False when the view is already closed (take the current one)."""
        with self._lock:
            if self._closed:
                return False
            self._readers += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._readers -= 1
            close = self._retired and self._readers == 0 and not self._closed
            self._closed = self._closed or close
        if close:
            self._stop()

    def retire(self) -> None:
        """No new readers; close once the current ones are done."""
        with self._lock:
            self._retired = True
            close = self._readers == 0 and not self._closed
            self._closed = self._closed or close
        if close:
            self._stop()

    def _stop(self) -> None:
        if self._system is not None:
            with contextlib.suppress(Exception):  # a half-stopped old view must not fail a refresh
                self._system.stop()

    def count(self) -> int:
        return int(self.collection.count())

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
        """(id, text, metadata) of the given chunks that exist (a chunk deleted meanwhile is left out)."""
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [
            (i, str(d), dict(m))
            for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
            if d is not None and m is not None
        ]

    def embeddings_of(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those of the given chunks this view holds (others are left out).

        A view older than the BM25 mirror (another process has just written) may not know some ids,
        and Chroma then fails the whole call: those are looked up one by one and the unknown ones
        left out, so the retriever skips them until the next refresh.
        """
        if not ids:
            return {}
        try:
            return self._vectors(ids)
        except Exception:  # chromadb: "Error finding id"
            found: dict[str, np.ndarray] = {}
            for chunk in ids:
                with contextlib.suppress(Exception):
                    found.update(self._vectors([chunk]))
            return found

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that the collection holds now (metadata is read from the database, which
        is current even when this view's vector index is not)."""
        if not ids:
            return set()
        return set(self.collection.get(ids=list(ids), include=[])["ids"])

    def _vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        vectors = got["embeddings"]
        if vectors is None:
            return {}
        return {
            i: np.asarray(v, dtype=np.float32)
            for i, v in zip(got["ids"], vectors, strict=True)
            if v is not None
        }

    def metadatas(self) -> Iterator[dict[str, Any]]:
        """The metadata of every chunk, page by page."""
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metas = got["metadatas"] or []
            yield from (dict(m) for m in metas if m is not None)
            if len(metas) < _PAGE:
                return
            offset += _PAGE

    def article_ids(self) -> set[str]:
        """Every article id in the index."""
        return {str(m["article_id"]) for m in self.metadatas()}

    def outlets(self) -> OutletCatalog:
        """The index's outlets, read from every chunk's metadata (``ChunkStore.outlets`` is faster)."""
        return OutletCatalog.of(
            (str(m.get("article_id", "")), str(m.get("source") or ""), _text_or_none(m.get("also_in")))
            for m in self.metadatas()
        )

    def search(
        self, vector: Sequence[float] | np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The ``k`` chunks nearest to ``vector``, best first (fewer when the index holds fewer).

        A chunk whose record was deleted after this view was opened (a replaced version) comes back
        without text or metadata: it is left out, as a reader of the new version would not see it.
        """
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
            if d is not None and m is not None and dist is not None
        ]


class ChunkStore:
    """A Chroma collection of chunks and its BM25 mirror, opened lazily.

    Readers take a view with ``reading()`` and keep it for the whole question; a serving process
    calls ``refresh_view`` (from one thread) to see other processes' writes. The BM25 mirror is
    written only by its owner: an indexing run (under its lock), a reader that holds that lock, or,
    with a Chroma server, the app process that keeps its own mirror.

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
        collection: str = DEFAULT_COLLECTION,
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
        self._view: ChunkView | None = None
        self._generation = 0
        self._open_lock = threading.Lock()

    @property
    def where(self) -> str:
        """Where the chunks live, for messages."""
        return f"{self.url} (collection {self.collection_name})" if self.url else str(self.path)

    def view(self) -> ChunkView:
        """The current view, opened on first use (an unusable index fails here, with its message)."""
        view = self._view
        if view is None:
            with self._open_lock:
                if self._view is None:
                    self._view = self._open_view()
                view = self._view
        return view

    @property
    def collection(self) -> Collection:
        """The current view's collection (the write path's handle)."""
        return self.view().collection

    @property
    def is_open(self) -> bool:
        return self._view is not None

    @property
    def generation(self) -> int:
        """How many views this store has opened: it grows with each refresh."""
        return self._generation

    def open(self) -> None:
        """Open the collection now (an unusable index fails here, with its message)."""
        self.view()

    def require_articles(self, fix: str = "newsdesk index PATH") -> None:
        """For readers: fail with the fix, creating nothing, when there is no index here or it is empty.

        Without this a mistyped ``--db`` (or ``ask`` run from another folder) would make an empty index
        and answer "the articles do not answer this question", as if it had looked. ``fix`` is the
        command that would fill this index, without its ``--db``/``--chroma-url``.
        """
        where = f"--chroma-url {self.url}" if self.url else f"--db {self.path}"
        how = f"Index articles into it first ({fix} {where}), or point to your index with " + (
            "--chroma-url and NEWSDESK_COLLECTION."
            if self.url
            else "--db DIR (or NEWSDESK_DB, or NEWSDESK_HOME)."
        )
        if not self.exists():
            place = (
                f"no collection {self.collection_name!r} on the Chroma server {self.url}"
                if self.url
                else f"no index at {self.path.absolute()}"
            )
            raise IndexMissing(f"{place}. {how}")
        if self.count() == 0:
            raise IndexMissing(f"the index at {self.where} holds no articles. {how}")

    def exists(self) -> bool:
        """Whether the collection exists, found without creating anything (an unreadable index counts
        as existing: opening it then fails with its own message)."""
        if self.url:
            try:
                return self.collection_name in {
                    getattr(c, "name", c) for c in self._client().list_collections()
                }
            except IndexUnavailable:
                raise
            except Exception:
                return True  # unreachable: opening says so, with the fix
        if self.path.exists() and not self.path.is_dir():
            raise IndexUnavailable(f"index path {self.path} is a file, not a folder: pass another --db")
        database = self.path / "chroma.sqlite3"
        if not database.is_file():
            return False
        try:
            db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                rows = db.execute("SELECT name FROM collections").fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return True
        return self.collection_name in {row[0] for row in rows}

    @contextlib.contextmanager
    def reading(self) -> Iterator[ChunkView]:
        """The current view, kept open for the ``with`` block even if a refresh replaces it meanwhile."""
        while True:
            view = self.view()
            if view.enter():
                break
        try:
            yield view
        finally:
            view.leave()

    def refresh_view(self) -> ChunkView:
        """Read from a freshly opened view from now on; the old one closes when its last reader ends.

        The new view is opened before the swap, so readers never wait for it, and a failed open
        leaves the old view in place.
        """
        fresh = self._open_view()
        with self._open_lock:
            old, self._view = self._view, fresh
        if old is not None:
            old.retire()
        return fresh

    def data_version(self) -> float | None:
        """A number that changes when any process writes to the embedded store (None with a server).

        It is the position of Chroma's write log (every add, update and delete appends to it), read
        from the database file without opening Chroma; the files' modification time is the fallback.
        Opening a view writes to the file but not to the log, so a refresh does not call for another.
        """
        if self.url:
            return None
        database = self.path / "chroma.sqlite3"
        with contextlib.suppress(sqlite3.Error):
            db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                row = db.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()
                return float(row[0] or 0)
            finally:
                db.close()
        stamps = [p.stat().st_mtime for p in self.path.glob("chroma.sqlite3*") if p.is_file()]
        return max(stamps, default=0.0)

    def sync_mirror(self, full: bool = False, view: ChunkView | None = None) -> tuple[int, int]:
        """Bring the BM25 mirror in line with a view of Chroma; returns (added, removed) chunk counts.

        Only the mirror's owner calls this (see the class), with a view opened after the writes it
        must see. Without ``full``, the id sets are compared only when the counts differ, which is
        what an interrupted write leaves behind.
        """
        if self.lexical is None:
            return (0, 0)
        source = view if view is not None else self.view()
        if not full and self.lexical.count() == source.count():
            return (0, 0)
        return self.lexical.sync(source)

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
        return self._connect()[0]

    def _connect(self) -> tuple[Any, Any]:
        """A client and (embedded) the Chroma system that only it uses, or None (a server).

        The system is taken under the same lock that made it: Chroma's ``client._system`` looks up
        the folder's *current* system, which another view opened a moment later would have replaced,
        and retiring this view would then stop that other view's system under its readers.
        """
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise IndexUnavailable(f"Chroma URL {self.url!r} must look like http://host:port")
            remote = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
            return remote, None
        if self.path.exists() and not self.path.is_dir():
            raise IndexUnavailable(f"index path {self.path} is a file, not a folder: pass another --db")
        self.path.mkdir(parents=True, exist_ok=True)
        from chromadb.api.shared_system_client import SharedSystemClient

        # Chroma caches one system per folder and process; a view needs its own, opened now, so that
        # it sees every write made so far and can be stopped on its own when it is retired.
        with _FRESH_SYSTEM:
            SharedSystemClient.clear_system_cache()
            client: Any = chromadb.PersistentClient(path=str(self.path), settings=settings)
            return client, client._system

    def _open_view(self) -> ChunkView:
        collection, system = self._open()
        self._generation += 1
        return ChunkView(collection, system, self._generation)

    def _open(self) -> tuple[Collection, Any]:
        """The collection, checked, and (embedded) the Chroma system that serves it."""
        try:
            client, system = self._connect()
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
        return collection, system

    def count(self) -> int:
        with self.reading() as view:
            return view.count()

    def outlets(self, view: ChunkView | None = None) -> OutletCatalog:
        """The index's outlets: from the BM25 mirror, else (dense only) from the chunks' metadata."""
        if self.lexical is not None:
            return self.lexical.outlets()
        if view is not None:
            return view.outlets()
        with self.reading() as current:
            return current.outlets()

    def article_ids(self) -> set[str]:
        """Every article id in the index."""
        with self.reading() as view:
            return view.article_ids()

    def stored_versions(self, article_ids: Sequence[str]) -> dict[str, StoredVersion]:
        """What the index holds for each of ``article_ids`` (absent ids are left out)."""
        found: dict[str, tuple[Counter[str], dict[str, int], set[str | None], dict[str, str]]] = {}
        bare: Counter[str] = Counter()
        for start in range(0, len(article_ids), 500):
            batch = list(article_ids[start : start + 500])
            where: Any = {"article_id": {"$in": batch}}
            got = self.collection.get(where=where, include=["metadatas"])
            for meta in got["metadatas"] or []:
                counts, expected, origins, duplicates = found.setdefault(
                    str(meta["article_id"]), (Counter(), {}, set(), {})
                )
                content_hash = str(meta["content_hash"])
                counts[content_hash] += 1
                expected[content_hash] = int(meta["n_chunks"])  # type: ignore[arg-type]
                origins.add(_text_or_none(meta.get("origin")))
                duplicates.update(duplicate_origins_of(meta))
                if "entities" not in meta:
                    bare[str(meta["article_id"])] += 1
        return {
            aid: StoredVersion(dict(c), e, frozenset(o), d, bare[aid]) for aid, (c, e, o, d) in found.items()
        }

    def articles(self) -> list[StoredArticle]:
        """Every stored article, by id (one read of every chunk's metadata)."""
        found: dict[str, StoredArticle] = {}
        with self.reading() as view:
            for meta in view.metadatas():
                article = found.setdefault(
                    str(meta["article_id"]), StoredArticle(str(meta["article_id"]), meta)
                )
                article.chunks += 1
                if int(meta.get("chunk") or 0) < int(article.metadata.get("chunk") or 0):
                    article.metadata = meta
        for article in found.values():
            origins = duplicate_origins_of(article.metadata)
            raw = article.metadata.get("also_in")
            try:
                entries = json.loads(raw) if isinstance(raw, str) else []
            except ValueError:
                entries = []
            article.also_in = [
                {**{k: str(v) for k, v in e.items()}, "origin": origins.get(str(e.get("article_id")), "")}
                for e in entries
                if isinstance(e, dict)
            ]
        return sorted(found.values(), key=lambda a: a.id)

    def article_origins(self) -> tuple[dict[str, str | None], dict[str, str]]:
        """Every stored article's origin (None when its chunks predate origins), and the recorded
        origins of the near-duplicates named in ``also_in`` (which have no chunks of their own)."""
        origins: dict[str, str | None] = {}
        duplicates: dict[str, str] = {}
        with self.reading() as view:
            for meta in view.metadatas():
                article_id = str(meta["article_id"])
                origin = _text_or_none(meta.get("origin"))
                if origins.get(article_id) is None:
                    origins[article_id] = origin
                duplicates.update(duplicate_origins_of(meta))
        return origins, duplicates

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

    def set_entities(self, article: Article, chunks: Sequence[Chunk]) -> int:
        """Store the named entities of an article's chunks (``Chunk.entities``) on its stored chunks of
        this version, without re-embedding: how an index made before entities were found gains them.
        Chunk by chunk and idempotent: an interrupted run leaves some chunks without, and the next
        run adds theirs. Returns the number of chunks changed."""
        ids = [chunk_id(article.id, article.content_hash, c.number) for c in chunks]
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        by_id = dict(
            zip(got["ids"], zip(got["documents"] or [], got["metadatas"] or [], strict=True), strict=True)
        )
        changed: list[str] = []
        updates: list[Any] = []
        mirrored: list[tuple[str, str, dict[str, Any]]] = []
        for chunk, cid in zip(chunks, ids, strict=True):
            if cid not in by_id or chunk.entities is None:
                continue
            text, meta = by_id[cid]
            values = {"entities": chunk.entities, "title_entities": chunk.title_entities or "[]"}
            if all(meta.get(k) == v for k, v in values.items()):
                continue
            changed.append(cid)
            updates.append(values)
            mirrored.append((cid, str(text), {**dict(meta), **values}))
        if changed:
            self.collection.update(ids=changed, metadatas=updates)
            if self.lexical is not None:
                self.lexical.upsert(
                    [m[0] for m in mirrored], [m[1] for m in mirrored], [m[2] for m in mirrored]
                )
        return len(changed)

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        for start in range(0, len(ids), 500):
            where: Any = {"article_id": {"$in": ids[start : start + 500]}}
            doomed = self.collection.get(where=where, include=[])["ids"]
            if doomed:
                self.collection.delete(ids=doomed)
                if self.lexical is not None:
                    self.lexical.delete(doomed)

    def set_also_in(
        self, article_id: str, also_in: str | None, origins: Mapping[str, str] | None = None
    ) -> int:
        """Set the ``also_in`` metadata of every chunk of an article (None removes it).

        ``also_in`` names the near-duplicates of the article (index/dedup.py): a JSON list of
        ``{"article_id", "title", "source", "url", "published"}``. Beside it, ``also_in_origins`` maps
        each duplicate to the file it came from (``origins``, else what was recorded before), which
        lets ``--prune`` judge duplicates, which have no chunks of their own. Returns the number of
        chunks changed in Chroma.
        """
        where: Any = {"article_id": article_id}
        got = self.collection.get(where=where, include=["metadatas"])
        recorded: dict[str, str] = {}
        for meta in got["metadatas"] or []:
            recorded.update(duplicate_origins_of(meta))
        known = {**recorded, **{k: v for k, v in (origins or {}).items() if v}}
        named = [str(item.get("article_id", "")) for item in json.loads(also_in)] if also_in else []
        mapped = {d: known[d] for d in sorted(named) if d in known}
        return self.update_metadata(
            article_id,
            {
                "also_in": also_in,
                "also_in_origins": json.dumps(mapped, ensure_ascii=False) if mapped else None,
            },
        )

    def update_metadata(self, article_id: str, values: Mapping[str, str | None]) -> int:
        """Set metadata fields on every chunk of an article (None removes a field); no re-embedding.

        Only chunks whose values differ are rewritten in Chroma; the lexical mirror, whose id-based
        ``sync`` cannot see metadata changes, is rewritten for the whole article. Returns the number
        of chunks changed in Chroma.
        """
        where: Any = {"article_id": article_id}
        got = self.collection.get(where=where, include=["documents", "metadatas"])
        ids, docs, metas = got["ids"], got["documents"] or [], got["metadatas"] or []
        changed = [
            i for i, m in zip(ids, metas, strict=True) if any(m.get(k) != v for k, v in values.items())
        ]
        if changed:
            updates: list[Any] = [dict(values) for _ in changed]
            self.collection.update(ids=changed, metadatas=updates)
        if self.lexical is not None and ids:  # always: a crash may have left it behind Chroma
            full: list[dict[str, Any]] = []
            for meta in metas:
                merged = {k: v for k, v in dict(meta).items() if k not in values}
                merged.update({k: v for k, v in values.items() if v is not None})
                full.append(merged)
            self.lexical.upsert(ids, [str(d) for d in docs], full)
        return len(changed)


def chunk_metadata(article: Article, chunk: Chunk, n_chunks: int) -> dict[str, str | int]:
    """Everything a citation needs, stored beside the chunk (and its named entities, when found)."""
    found = {
        key: value
        for key, value in (("entities", chunk.entities), ("title_entities", chunk.title_entities))
        if value is not None
    }
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
        "origin": article.origin,
        **found,
    }


def duplicate_origins_of(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The recorded files of a kept article's near-duplicates (its ``also_in_origins``)."""
    raw = metadata.get("also_in_origins")
    if not isinstance(raw, str):
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
