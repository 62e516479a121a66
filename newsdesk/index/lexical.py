"""Lexical side of the index: BM25 over chunks with SQLite FTS5, a mirror of the Chroma collection.

Chroma is the source of truth; this file is derived from it and keyed by the same content-addressed
chunk ids, so it can always be brought in line by comparing id sets (``sync``): nothing is rebuilt
from scratch, a crash between the two writes is repaired by the next run, and with a Chroma server
every app process keeps its own mirror up to date incrementally. Titles and outlets are indexed
beside the text so a question that names them finds the right articles.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from newsdesk.index.filters import Filters, OutletCatalog
from newsdesk.reading.words import STOPWORDS

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    article_id TEXT NOT NULL,
    source TEXT NOT NULL,
    published_day INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, title, source, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, title, source) VALUES (new.rowid, new.text, new.title, new.source);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, title, source)
    VALUES ('delete', old.rowid, old.text, old.title, old.source);
END;
"""
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
_BATCH = 500


class ChunkSource(Protocol):
    """What the mirror needs from the vector store."""

    def all_ids(self) -> set[str]: ...

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]: ...


@dataclass(frozen=True)
class LexicalHit:
    id: str
    text: str
    metadata: dict[str, Any]
    bm25: float


def query_terms(query: str) -> list[str]:
    """The question's meaningful words, lower-cased, in order, once each."""
    terms: list[str] = []
    for term in _TERM.findall(query.lower()):
        if term not in STOPWORDS and term not in terms:
            terms.append(term)
    return terms


def match_expression(query: str) -> str:
    """An FTS5 query OR-ing the question's meaningful words, each quoted (no FTS syntax leaks in)."""
    return " OR ".join(f'"{t}"' for t in query_terms(query))


class LexicalIndex:
    """BM25 search over chunk text, title and outlet; one SQLite file, safe across threads.

    Args:
        path: the SQLite file (created with its folder).
        weights: BM25 column weights for (text, title, source). Default: (1.0, 0.5, 0.5).
        max_term_share: question words found in more than this share of chunks are left out of the
            query (the rarest word is always kept). Such words weigh little in BM25 but make SQLite
            score most of the index: at 84,000 chunks, 0.1 cut BM25 time about in half with the same
            hit@10 on both eval sets (BENCHMARKS.md, scale). 1.0 keeps every word. Default: 0.1.
        prune_from: chunks in the index from which common words are left out; a smaller index is fast
            with every word, and in a few chunks every word is "common". Default: 10000.
    """

    def __init__(
        self,
        path: Path,
        weights: tuple[float, float, float] = (1.0, 0.5, 0.5),
        max_term_share: float = 0.1,
        prune_from: int = 10_000,
    ) -> None:
        self.path = path
        self.weights = weights
        self.max_term_share = max_term_share
        self.prune_from = prune_from
        self._local = threading.local()
        self._sync_lock = threading.Lock()
        self._df: dict[str, tuple[int, int]] = {}

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.executescript(_SCHEMA)
            self._local.db = db
        return db

    def upsert(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        rows = [
            (
                chunk_id,
                str(meta.get("article_id", "")),
                str(meta.get("source", "")),
                int(meta.get("published_day", 0) or 0),
                str(meta.get("title", "")),
                text,
                json.dumps(meta, ensure_ascii=False),
            )
            for chunk_id, text, meta in zip(ids, texts, metadatas, strict=True)
        ]
        db = self._db()
        with _transaction(db):
            db.executemany("DELETE FROM chunks WHERE id = ?", [(r[0],) for r in rows])
            db.executemany(
                "INSERT INTO chunks (id, article_id, source, published_day, title, text, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def delete(self, ids: Iterable[str]) -> None:
        db = self._db()
        with _transaction(db):
            db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in ids])

    def ids(self) -> set[str]:
        return {row[0] for row in self._db().execute("SELECT id FROM chunks")}

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def sources(self) -> list[str]:
        """Every outlet in the index."""
        rows = self._db().execute("SELECT DISTINCT source FROM chunks WHERE source != ''")
        return sorted(row[0] for row in rows)

    def outlets(self) -> OutletCatalog:
        """The index's outlets (see ``OutletCatalog``), rebuilt only after the mirror has changed.

        Cached per thread, as connections are: SQLite's ``data_version`` moves when another connection
        commits, ``total_changes`` when this one writes.
        """
        db = self._db()
        version = (int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes)
        cached: tuple[tuple[int, int], OutletCatalog] | None = getattr(self._local, "outlets", None)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows: list[tuple[str, str, str | None]] = [("", source, None) for source in self.sources()]
        sql = (
            "SELECT DISTINCT article_id, json_extract(meta, '$.also_in') FROM chunks "
            "WHERE meta LIKE '%\"also_in\"%' AND json_extract(meta, '$.also_in') IS NOT NULL"
        )
        rows += [(str(r[0]), "", str(r[1])) for r in db.execute(sql)]
        catalog = OutletCatalog.of(rows)
        self._local.outlets = (version, catalog)
        return catalog

    def newest_day(self) -> int | None:
        """The newest published day (YYYYMMDD) in the index, the 'now' of relative dates."""
        sql = "SELECT max(published_day) FROM chunks WHERE published_day > 0"
        value = self._db().execute(sql).fetchone()[0]
        return int(value) if value else None

    def sync(self, source: ChunkSource) -> tuple[int, int]:
        """Bring the mirror in line with the vector store; returns (added, removed) chunk counts.

        Safe beside a writer that updates both: the mirror's ids are read before the store's, so a
        chunk written meanwhile is never taken for a stale one, and missing chunks go in before stale
        ones go out, so a reader never finds an article with no chunks.
        """
        with self._sync_lock:
            have = self.ids()
            wanted = source.all_ids()
            missing = sorted(wanted - have)
            stale = have - wanted
            added = 0
            for start in range(0, len(missing), _BATCH):
                got = source.get_chunks(missing[start : start + _BATCH])
                self.upsert([g[0] for g in got], [g[1] for g in got], [g[2] for g in got])
                added += len(got)
            if stale:
                self.delete(stale)
            return added, len(stale)

    def search(self, query: str, n: int, filters: Filters | None = None) -> list[LexicalHit]:
        """The ``n`` best chunks by BM25 (higher is better), within the filters."""
        expression = self.expression(query)
        if not expression:
            return []
        if filters is not None and filters.matches_nothing:
            return []
        conditions, values = filters.sql("c") if filters is not None else ([], [])
        clauses, params = ["chunks_fts MATCH ?", *conditions], [expression, *values]
        w_text, w_title, w_source = self.weights
        # Rank on the FTS table alone (joined only for filters), fetch text for the n winners only.
        join = "JOIN chunks c ON c.rowid = chunks_fts.rowid " if len(clauses) > 1 else ""
        sql = (
            f"SELECT c.id, c.text, c.meta, best.rank FROM ("
            f"SELECT chunks_fts.rowid AS rowid, bm25(chunks_fts, {w_text}, {w_title}, {w_source}) AS rank "
            f"FROM chunks_fts {join}WHERE {' AND '.join(clauses)} ORDER BY rank LIMIT ?"
            f") AS best JOIN chunks c ON c.rowid = best.rowid ORDER BY best.rank"
        )
        rows = self._db().execute(sql, [*params, n]).fetchall()
        return [LexicalHit(r[0], r[1], json.loads(r[2]), -float(r[3])) for r in rows]

    def expression(self, query: str) -> str:
        """The FTS5 query for a question: its meaningful words, without the too common ones."""
        terms = query_terms(query)
        total = self._total() if self.max_term_share < 1.0 and len(terms) > 1 else 0
        if total >= self.prune_from:
            shares = {t: self._doc_count(t, total) / max(total, 1) for t in terms}
            kept = [t for t in terms if shares[t] <= self.max_term_share]
            terms = kept or [min(terms, key=shares.__getitem__)]
        return " OR ".join(f'"{t}"' for t in terms)

    def _total(self) -> int:
        """About how many chunks the index holds (the largest rowid: cheap, and close enough)."""
        return int(self._db().execute("SELECT max(rowid) FROM chunks").fetchone()[0] or 0)

    def _doc_count(self, term: str, total: int) -> int:
        """Chunks holding ``term``, cached until the index grows or shrinks by a tenth."""
        cached = self._df.get(term)
        if cached is not None and abs(cached[1] - total) <= total // 10:
            return cached[0]
        sql = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
        count = int(self._db().execute(sql, [f'"{term}"']).fetchone()[0])
        if len(self._df) > 100_000:  # questions keep bringing new words: bound the cache
            self._df.clear()
        self._df[term] = (count, total)
        return count


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (autocommit connections)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
