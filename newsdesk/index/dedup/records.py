"""Where near-duplicate records live between runs: a SQLite file beside an embedded index, or a side
collection on the Chroma server, so every machine's jobs check against the same records."""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsdesk.config import DEFAULT_COLLECTION
from newsdesk.errors import DedupUnavailable
from newsdesk.index.dedup.signature import _PARAMS, _decode_signature
from newsdesk.index.load import Article

DEDUP_FILE = "dedup.sqlite"
"""The dedup file of the default collection of an embedded index; see ``dedup_file_name``."""
_PARAM_PREFIX = "newsdesk_dedup_"
_PAGE = 1000


def dedup_file_name(collection: str = DEFAULT_COLLECTION, url: str | None = None) -> str:
    """The dedup file of one collection: ``dedup.sqlite`` for the default embedded one, else named
    after the server and collection (an embedded folder or a server can hold several collections)."""
    if not url and collection == DEFAULT_COLLECTION:
        return DEDUP_FILE
    slug = re.sub(r"[^A-Za-z0-9]+", "_", f"{url or 'local'}-{collection}").strip("_")
    return f"dedup-{slug}.sqlite"


@dataclass(frozen=True)
class DedupRecord:
    """What the dedup file knows of one article."""

    article_id: str
    content_hash: str
    signature: np.ndarray | None
    duplicate_of: str | None
    title: str = ""
    source: str = ""
    url: str = ""
    published: str = ""

    @property
    def kept(self) -> bool:
        return self.duplicate_of is None

    def outlet(self) -> dict[str, str]:
        """How the ``also_in`` metadata of the kept article names this duplicate."""
        return {
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
        }


def record_for(
    article: Article, signature: np.ndarray | None, duplicate_of: str | None = None
) -> DedupRecord:
    return DedupRecord(
        article.id,
        article.content_hash,
        signature,
        duplicate_of,
        article.title,
        article.source,
        article.url,
        article.published,
    )


class DedupRecords(Protocol):
    """Where a ``DedupIndex`` keeps its records between runs."""

    def load(self) -> Iterable[DedupRecord]:
        """Every stored record (raises ``DedupUnavailable`` with the fix when they cannot be read)."""
        ...

    def save(self, changes: Mapping[str, DedupRecord | None]) -> None:
        """Store these records, and delete the articles mapped to None."""
        ...

    def close(self) -> None: ...


class SqliteRecords:
    """Records in a SQLite file beside an embedded index; each ``save`` is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)

    def _unreadable(self, error: Exception) -> DedupUnavailable:
        return DedupUnavailable(
            f"cannot read the duplicate index {self.path} ({error}); it only holds signatures: "
            f"delete it and index again to rebuild it"
        )

    def load(self) -> Iterable[DedupRecord]:
        try:
            return list(self._load())
        except sqlite3.DatabaseError as error:
            raise self._unreadable(error) from error

    def _load(self) -> Iterator[DedupRecord]:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS params (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS articles (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL,"
            " signature BLOB, duplicate_of TEXT, title TEXT NOT NULL, source TEXT NOT NULL,"
            " url TEXT NOT NULL, published TEXT NOT NULL)"
        )
        params = dict(db.execute("SELECT key, value FROM params").fetchall())
        if params != _PARAMS:
            # Signatures made another way cannot be compared: forget them; they are recomputed.
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM articles")
            db.execute("DELETE FROM params")
            db.executemany("INSERT INTO params VALUES (?, ?)", sorted(_PARAMS.items()))
            db.execute("COMMIT")
        rows = db.execute(
            "SELECT article_id, content_hash, signature, duplicate_of, title, source, url, published"
            " FROM articles"
        )
        for article_id, content_hash, blob, duplicate_of, title, source, url, published in rows:
            sig = None if blob is None else _decode_signature(blob)
            if blob is not None and sig is None:
                raise sqlite3.DatabaseError(f"signature of {article_id} has {len(blob)} bytes")
            yield DedupRecord(article_id, content_hash, sig, duplicate_of, title, source, url, published)

    def save(self, changes: Mapping[str, DedupRecord | None]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for article_id, record in changes.items():
                if record is None:
                    db.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))
                    continue
                sig = record.signature
                db.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.article_id,
                        record.content_hash,
                        None if sig is None else sig.astype(np.uint32).tobytes(),
                        record.duplicate_of,
                        record.title,
                        record.source,
                        record.url,
                        record.published,
                    ),
                )
            db.execute("COMMIT")
        except BaseException:  # Ctrl-C included: nothing of this batch is kept, the next run redoes it
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


class ServerRecords:
    """Records in a side collection of a Chroma server, shared by indexing jobs on every machine.

    One record per article: its fields as metadata (the signature as base64 text), a one-number
    placeholder vector. The signature parameters are the collection's metadata; records made with
    other ones are deleted on load, as for the SQLite file. A ``save`` is one upsert then one delete:
    each record in it describes chunks already written, so any part of it that lands is true.
    """

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def load(self) -> Iterable[DedupRecord]:
        metadata = self.collection.metadata or {}
        params = {
            k.removeprefix(_PARAM_PREFIX): v for k, v in metadata.items() if k.startswith(_PARAM_PREFIX)
        }
        if params != _PARAMS:
            self._delete_all()
            kept = {k: v for k, v in metadata.items() if not k.startswith(_PARAM_PREFIX)}
            self.collection.modify(metadata={**kept, **_server_params()})
            return []
        records = []
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for article_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                records.append(self._record(article_id, meta or {}))
            if len(got["ids"]) < _PAGE:
                return records
            offset += _PAGE

    def _record(self, article_id: str, meta: Mapping[str, Any]) -> DedupRecord:
        encoded = meta.get("signature")
        sig = None
        if encoded is not None:
            try:
                blob = base64.b64decode(str(encoded), validate=True)
            except ValueError as error:
                raise self._unreadable(f"signature of {article_id}: {error}") from error
            sig = _decode_signature(blob)
            if sig is None:
                raise self._unreadable(f"signature of {article_id} has {len(blob)} bytes")
        duplicate_of = meta.get("duplicate_of")
        return DedupRecord(
            article_id,
            str(meta.get("content_hash", "")),
            sig,
            None if duplicate_of is None else str(duplicate_of),
            str(meta.get("title", "")),
            str(meta.get("source", "")),
            str(meta.get("url", "")),
            str(meta.get("published", "")),
        )

    def _unreadable(self, reason: str) -> DedupUnavailable:
        return DedupUnavailable(
            f"cannot read the duplicate signatures in the server collection {self.collection.name!r} "
            f"({reason}); it only holds signatures: delete that collection and index again to rebuild it"
        )

    def _delete_all(self) -> None:
        while True:
            ids = self.collection.get(include=[], limit=_PAGE)["ids"]
            if not ids:
                return
            self.collection.delete(ids=ids)

    def save(self, changes: Mapping[str, DedupRecord | None]) -> None:
        kept = [record for record in changes.values() if record is not None]
        gone = [article_id for article_id, record in changes.items() if record is None]
        for start in range(0, len(kept), _PAGE):
            part = kept[start : start + _PAGE]
            self.collection.upsert(
                ids=[r.article_id for r in part],
                embeddings=[[0.0]] * len(part),
                metadatas=[_server_metadata(r) for r in part],
            )
        for start in range(0, len(gone), _PAGE):
            self.collection.delete(ids=gone[start : start + _PAGE])

    def close(self) -> None:
        pass


def _server_params() -> dict[str, str]:
    return {_PARAM_PREFIX + key: value for key, value in _PARAMS.items()}


def _server_metadata(record: DedupRecord) -> dict[str, str]:
    meta = {
        "content_hash": record.content_hash,
        "title": record.title,
        "source": record.source,
        "url": record.url,
        "published": record.published,
    }
    if record.signature is not None:
        meta["signature"] = base64.b64encode(record.signature.astype(np.uint32).tobytes()).decode("ascii")
    if record.duplicate_of is not None:
        meta["duplicate_of"] = record.duplicate_of
    return meta
