"""Near-duplicate articles: the same wire story from several outlets is indexed once.

An article's body becomes a set of word 5-shingles; a MinHash signature (datasketch, 128
permutations) estimates the Jaccard similarity of two such sets, and an LSH index over the kept
articles finds the candidates at a threshold of 0.8 without comparing every pair. An article whose
estimated similarity to a kept article reaches the threshold is a duplicate: it is not indexed as
chunks of its own; the kept article's chunks list it in their ``also_in`` metadata instead, so a
citation can name every outlet that carried the story.

Signatures are kept in ``dedup.sqlite`` in the index folder (one file per collection), or with a
Chroma server in a side collection on the server (``<collection>-dedup``), so that indexing jobs on
every machine check against the same records. They are keyed by article id with the content hash
they were computed from, so an article arriving tomorrow is checked
against everything indexed today, and an unchanged article is never hashed again. The LSH is rebuilt
from the stored signatures at the start of a run (signatures only, no text). Changes are staged in
memory and written once per batch, after the chunks they describe are in the store, so
a run interrupted at any moment leaves records that the next run either trusts or recomputes.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import sqlite3
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsdesk.index.load import Article
from newsdesk.index.store import IndexUnavailable

DEDUP_FILE = "dedup.sqlite"
"""The dedup file of the default collection of an embedded index; see ``dedup_file_name``."""
DEFAULT_COLLECTION = "newsdesk-chunks"
NUM_PERM = 128
SHINGLE_WORDS = 5
THRESHOLD = 0.8
MIN_WORDS = 2 * SHINGLE_WORDS
"""Articles shorter than this (in words) are never treated as duplicates: too little to judge."""

_SEED = 1
_SCHEME = "affine32"
_PARAMS = {
    "format": "1",
    "num_perm": str(NUM_PERM),
    "shingle_words": str(SHINGLE_WORDS),
    "seed": str(_SEED),
    "scheme": _SCHEME,
    "hash": "crc32-words-poly64",
}
_PARAM_PREFIX = "newsdesk_dedup_"
_PAGE = 1000
_WORD = re.compile(r"\w+")
# Odd 64-bit multipliers, one per position in a shingle: a shingle's hash depends on word order.
_POSITION_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)[:SHINGLE_WORDS]


def dedup_file_name(collection: str = DEFAULT_COLLECTION, url: str | None = None) -> str:
    """The dedup file of one collection: ``dedup.sqlite`` for the default embedded one, else named
    after the server and collection (an embedded folder or a server can hold several collections)."""
    if not url and collection == DEFAULT_COLLECTION:
        return DEDUP_FILE
    slug = re.sub(r"[^A-Za-z0-9]+", "_", f"{url or 'local'}-{collection}").strip("_")
    return f"dedup-{slug}.sqlite"


@functools.lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return zlib.crc32(word.encode("utf-8"))


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the word 5-shingles of ``text`` (lower case, punctuation ignored).

    Each word is hashed once (crc32, cached); a shingle's hash combines its words' hashes with
    position-dependent multipliers, vectorised. Stable across processes, unlike ``hash()``.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint32)
    hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    width = min(SHINGLE_WORDS, len(hashes))
    count = len(hashes) - width + 1
    combined = hashes[:count] * _POSITION_MULTIPLIERS[0]
    for position in range(1, width):
        combined += hashes[position : position + count] * _POSITION_MULTIPLIERS[position]
    folded: np.ndarray = ((combined >> np.uint64(32)) ^ combined).astype(np.uint32)
    return folded


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@functools.cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations


def _minhash(values: np.ndarray | None = None) -> Any:
    from datasketch import MinHash

    return MinHash(
        num_perm=NUM_PERM,
        seed=_SEED,
        scheme=_SCHEME,
        hashfunc=int,
        hashvalues=values,
        permutations=_permutations(),
    )


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of ``text`` (uint32, 128 values), or None when it is too short to judge."""
    if word_count(text) < MIN_WORDS:
        return None
    minhash = _minhash()
    minhash.update_batch(shingle_hashes(text).tolist())
    values: np.ndarray = np.asarray(minhash.hashvalues, dtype=np.uint32)
    return values


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


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


class DedupUnavailable(IndexUnavailable):
    """The dedup records cannot be read; the message says how to fix it."""


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


def _decode_signature(blob: bytes) -> np.ndarray | None:
    """A stored signature, or None when the bytes are not ``NUM_PERM`` 32-bit values."""
    if len(blob) != 4 * NUM_PERM:
        return None
    return np.frombuffer(blob, dtype=np.uint32)


class DedupIndex:
    """The signatures of every article of one index, and an LSH over the kept ones.

    Args:
        records: where the records persist: ``SqliteRecords`` (a path is taken as one) or, with a
            Chroma server, ``ServerRecords``.
        threshold: estimated Jaccard similarity from which two articles are duplicates. Default: 0.8.

    Reads (``record``, ``find``, ``also_in``) see staged changes; ``commit`` makes them durable.
    """

    def __init__(self, records: DedupRecords | Path, threshold: float = THRESHOLD) -> None:
        from datasketch import MinHashLSH

        self.records: DedupRecords = SqliteRecords(records) if isinstance(records, Path) else records
        self.threshold = threshold
        self._records: dict[str, DedupRecord] = {}
        self._duplicates: dict[str, set[str]] = {}
        self._staged: dict[str, DedupRecord | None] = {}
        self._excluded: set[str] = set()
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        try:
            for record in self.records.load():
                self._records[record.article_id] = record
        except BaseException:
            self.records.close()
            raise
        for record in self._records.values():
            self._link(record)

    def _link(self, record: DedupRecord) -> None:
        if record.duplicate_of is not None:
            self._duplicates.setdefault(record.duplicate_of, set()).add(record.article_id)
        elif record.signature is not None and record.article_id not in self._excluded:
            self._lsh.insert(record.article_id, _minhash(record.signature), check_duplication=False)

    def _unlink(self, record: DedupRecord) -> None:
        if record.duplicate_of is not None:
            self._duplicates.get(record.duplicate_of, set()).discard(record.article_id)
        elif record.article_id in self._lsh:
            self._lsh.remove(record.article_id)

    def __len__(self) -> int:
        return len(self._records)

    def article_ids(self) -> set[str]:
        return set(self._records)

    def record(self, article_id: str) -> DedupRecord | None:
        return self._records.get(article_id)

    def is_kept(self, article_id: str) -> bool:
        """True when ``article_id`` is a kept (indexed) article that is not about to be removed."""
        record = self._records.get(article_id)
        return record is not None and record.kept and article_id not in self._excluded

    def exclude(self, article_ids: Iterable[str]) -> None:
        """Never match these kept articles (they are about to be pruned)."""
        for article_id in article_ids:
            self._excluded.add(article_id)
            if article_id in self._lsh:
                self._lsh.remove(article_id)

    def signature_of(self, article: Article) -> np.ndarray | None:
        """The article's signature: the stored one when its content is unchanged, else computed."""
        record = self._records.get(article.id)
        if record is not None and record.content_hash == article.content_hash:
            return record.signature  # None when too short: that too follows from the content
        return signature(article.text)

    def find(self, sig: np.ndarray | None, exclude: str = "") -> tuple[str, float] | None:
        """The kept article most similar to ``sig`` at or over the threshold (ties: smallest id)."""
        if sig is None:
            return None
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(_minhash(sig)):
            record = self._records.get(candidate)
            if candidate == exclude or record is None or record.signature is None:
                continue
            score = similarity(sig, record.signature)
            if score >= self.threshold and (best is None or (-score, candidate) < (-best[0], best[1])):
                best = (score, candidate)
        return (best[1], best[0]) if best is not None else None

    def put(self, record: DedupRecord) -> None:
        """Stage ``record`` (a kept article, or a duplicate of a kept one)."""
        old = self._records.get(record.article_id)
        if old is not None:
            self._unlink(old)
        self._records[record.article_id] = record
        self._link(record)
        self._staged[record.article_id] = record

    def remove(self, article_id: str) -> DedupRecord | None:
        """Stage the removal of an article's record; returns the record it had."""
        old = self._records.pop(article_id, None)
        if old is not None:
            self._unlink(old)
        self._staged[article_id] = None
        return old

    def duplicates_of(self, article_id: str) -> list[DedupRecord]:
        """The duplicates recorded for a kept article, in a stable order (date, outlet, url, id)."""
        found = [self._records[d] for d in self._duplicates.get(article_id, ()) if d in self._records]
        return sorted(found, key=lambda r: (r.published, r.source, r.url, r.article_id))

    def also_in(self, article_id: str) -> str | None:
        """The ``also_in`` metadata of a kept article: a JSON list of its duplicates, or None."""
        duplicates = self.duplicates_of(article_id)
        if not duplicates:
            return None
        return json.dumps([d.outlet() for d in duplicates], ensure_ascii=False)

    def staged_ids(self) -> set[str]:
        """Articles whose records are staged and not yet committed."""
        return set(self._staged)

    def commit(self, only: Collection[str] | None = None) -> None:
        """Store the staged changes (with ``only``, those of these articles) at once.

        The indexer plans a batch before the one before it is written, so it commits batch by batch.
        """
        chosen = {i: r for i, r in self._staged.items() if only is None or i in only}
        if not chosen:
            return
        self.records.save(chosen)
        for article_id in chosen:
            del self._staged[article_id]

    def close(self) -> None:
        self.records.close()
