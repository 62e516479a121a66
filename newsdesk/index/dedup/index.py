"""The near-duplicate finder of one indexing run: LSH over the kept articles, changes staged per batch."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np

from newsdesk.index.dedup.records import DedupRecord, DedupRecords, SqliteRecords
from newsdesk.index.dedup.signature import NUM_PERM, THRESHOLD, _minhash, signature, similarity
from newsdesk.index.load import Article


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
