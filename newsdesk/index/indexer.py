"""The write path: load, chunk, deduplicate, embed, store; honest about what it did.

Unchanged articles (same id, same content hash, all chunks present) cost one metadata lookup and
no embedding. Articles are written one at a time after their batch is embedded, so an interrupted
run loses at most a batch of work and the next run completes it.

One run at a time writes to an index: the run holds a lock file in the index folder, and with a
Chroma server also the server's writer lease, so jobs on other machines wait too (see
``index/lock.py``). Near-duplicates (the same story from several outlets) are stored once: the kept
article's chunks name the others in their ``also_in`` metadata (see ``index/dedup.py``).

Crash safety rests on the order of the writes within a batch: chunks of kept articles first (the
store replaces a version atomically enough: content-hash ids, then stale ones deleted), then the
chunks of articles that turned out to be duplicates are deleted, then ``also_in`` is set on the
kept articles, and only then are the dedup records committed, in one transaction. A record is
therefore trusted only once everything it describes is in the store; anything interrupted before
that is decided again, identically, by the next run.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from newsdesk.index.chunk import Chunk, chunk_article, embedding_text
from newsdesk.index.dedup import DedupIndex, ServerRecords, SqliteRecords, dedup_file_name, record_for
from newsdesk.index.embed import Embedder
from newsdesk.index.entities import EntityRecognizer, encode, within
from newsdesk.index.load import Article, LoadResult, Problem, canonical, load_paths
from newsdesk.index.lock import index_lock, server_lease
from newsdesk.index.store import ChunkStore, StoredVersion


@dataclass(frozen=True)
class Duplicate:
    """An article not indexed on its own because ``of`` (a kept article) carries the same story."""

    article_id: str
    of: str
    new: bool = True
    similarity: float | None = None

    def __str__(self) -> str:
        return f"{self.article_id} (duplicate of {self.of})"


@dataclass(frozen=True)
class Kept:
    """An article that ``--prune`` (or a deletion) would have removed and left in place, and why."""

    article_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.article_id} ({self.reason})"


@dataclass
class IndexReport:
    """What one indexing run did (or, with ``dry_run``, would do), article by article id.

    Every article read ends up in exactly one of ``added``, ``updated``, ``unchanged``,
    ``duplicates`` (new ones and ones already known) or ``skipped``. With ``--prune``: ``removed``,
    ``kept`` (would have been removed, but its file had a problem in this run, or removing it would
    lose a near-duplicate), ``promoted`` (near-duplicates read again from their files to hold the
    story of a removed article), ``without_origin`` (not in this run, origin unknown: never pruned)
    and ``elsewhere`` (articles from other paths, left alone).
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    chunks_written: int = 0
    kept: list[Kept] = field(default_factory=list)
    promoted: list[Duplicate] = field(default_factory=list)
    without_origin: list[str] = field(default_factory=list)
    elsewhere: int = 0
    unknown: list[str] = field(default_factory=list)
    dry_run: bool = False
    undated: int = 0
    """Articles read in this run with no published day: ``--since``/``--until`` never match them."""
    no_outlet: int = 0
    """Articles read in this run with no outlet: ``--source`` never matches them."""

    def summary(self) -> str:
        new_duplicates = sum(1 for d in self.duplicates if d.new)
        text = (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"duplicates {len(self.duplicates)} ({new_duplicates} new), "
            f"skipped {len(self.skipped)}, removed {len(self.removed)} "
            f"({self.chunks_written} chunks written)"
        )
        if self.undated or self.no_outlet:
            text += (
                f"; {self.undated} without a date, {self.no_outlet} without an outlet "
                "(--since/--until and --source cannot see them)"
            )
        return f"dry run, nothing written: would have {text}" if self.dry_run else text


@dataclass(frozen=True)
class PruneScope:
    """What ``--prune`` may judge: articles whose origin lies under ``paths`` (canonical), except
    those whose file (or folder) had a problem in this run (``troubled``)."""

    paths: tuple[Path, ...]
    troubled: tuple[Path, ...] = ()

    def covers(self, origin: str) -> bool:
        return any(Path(origin).is_relative_to(path) for path in self.paths)

    def trouble(self, origin: str) -> Path | None:
        return next((path for path in self.troubled if Path(origin).is_relative_to(path)), None)


_FILE_ID = re.compile(r"file://(/.*?)(?:#\d+)?")


def origin_from_id(article_id: str) -> str | None:
    """The file of an article stored before origins were recorded, when its id names it."""
    match = _FILE_ID.fullmatch(article_id)
    return match[1] if match else None


@dataclass
class _Plan:
    """What one batch will write, decided before anything is written."""

    write: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    origins: list[tuple[str, str]] = field(default_factory=list)  # unchanged articles read from another file
    kept: set[str] = field(default_factory=set)  # also_in set when they have duplicates
    sync: set[str] = field(default_factory=set)  # also_in set (or cleared) in any case
    entities: list[tuple[Article, list[Chunk]]] = field(default_factory=list)  # unchanged, gaining entities


@dataclass
class _Batch:
    """A planned batch on its way to the store: its vectors (being computed), also_in values, records."""

    plan: _Plan
    vectors: Future[np.ndarray] | None = None
    also_in: list[tuple[str, str | None]] = field(default_factory=list)
    records: set[str] = field(default_factory=set)  # dedup records staged by this batch


@dataclass
class Indexer:
    """Indexes articles into a ``ChunkStore``.

    Args:
        store: where chunks go.
        embedder: what turns chunk text into vectors.
        max_chars: longest chunk. Default: 700.
        overlap: sentences shared by neighbouring chunks. Default: 1.
        batch_articles: articles embedded together. Default: 64.
        lock_timeout: seconds to wait for another run writing to the same index; 0 stops at once.
        dedup: detect near-duplicate articles and store them once. Default: True.
        state_dir: folder of the lock file and of the dedup file of an embedded index (with a Chroma
            server the dedup records are on the server). Default: the store's folder.
        on_lock_wait: called with the other writer's pid (if known) before waiting for it.
        recognizer: finds named entities in each written article, stored with its chunks for the
            reader (``index/entities.py``). Default: none (chunks carry no entities).
    """

    store: ChunkStore
    embedder: Embedder
    max_chars: int = 700
    overlap: int = 1
    batch_articles: int = 64
    lock_timeout: float = 0.0
    dedup: bool = True
    state_dir: Path | None = None
    on_lock_wait: Callable[[int | None], None] | None = None
    recognizer: EntityRecognizer | None = None
    _origins: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    """This run's article id -> origin (its input, and what kept articles record of duplicates)."""

    @property
    def folder(self) -> Path:
        """Where the lock and the dedup file live."""
        return self.state_dir if self.state_dir is not None else self.store.path

    @property
    def dedup_path(self) -> Path:
        return self.folder / dedup_file_name(self.store.collection_name, self.store.url)

    def index_paths(
        self,
        paths: Sequence[Path],
        prune: bool = False,
        progress: Callable[[int, int], None] | None = None,
        dry_run: bool = False,
        fetched: LoadResult | None = None,
    ) -> IndexReport:
        """Index every article under ``paths``, and ``fetched`` (articles read from URLs and feeds).

        With ``prune``, remove the indexed articles that came from files under ``paths`` and are no
        longer there; never one whose file had a problem in this run, nor one from other paths or of
        unknown origin (fetched articles have none). With ``dry_run``, report what would be done and
        write nothing.
        """
        extra = fetched if fetched is not None else LoadResult()
        if dry_run and not self.store.exists():  # a preview creates no index: all would be new
            loaded = load_paths(paths)
            loaded.articles += extra.articles
            loaded.problems += extra.problems
            report = IndexReport(skipped=loaded.problems, dry_run=True)
            report.undated = sum(1 for a in loaded.articles if not a.published)
            report.no_outlet = sum(1 for a in loaded.articles if not a.source)
            for article in loaded.articles:
                if article.id in report.added:
                    where = article.origin or article.url or article.id
                    report.skipped.append(Problem(where, f"duplicate article id {article.id}", article.line))
                else:
                    report.added.append(article.id)
            return report
        with self._writing():
            loaded = load_paths(paths)
            # An index kept inside the articles' folder is not an article: skip its files.
            folder = canonical(self.folder)
            problems = [p for p in loaded.problems if not canonical(Path(p.path)).is_relative_to(folder)]
            scope = (
                PruneScope(
                    tuple(canonical(path) for path in paths),
                    tuple(canonical(Path(problem.path)) for problem in problems),
                )
                if prune
                else None
            )
            report = self._index(loaded.articles + extra.articles, progress, scope, dry_run)
        report.skipped[:0] = problems + extra.problems
        return report

    def index_articles(
        self, articles: Sequence[Article], progress: Callable[[int, int], None] | None = None
    ) -> IndexReport:
        """Index ``articles`` (nothing is removed)."""
        with self._writing():
            return self._index(articles, progress, None, dry_run=False)

    def remove(self, article_ids: Sequence[str], dry_run: bool = False) -> IndexReport:
        """Delete articles by id, as ``--prune`` does: their chunks, mirror rows and near-duplicate
        records, and their mention in a kept article's ``also_in``, so that indexing their file again
        brings them back. Ids the index does not hold are reported in ``unknown``."""
        with self._writing():
            self._start_writing(dry_run)
            report = IndexReport(dry_run=dry_run)
            self._origins = {}
            dedup = self._open_dedup()
            try:
                origins, duplicate_origins = self.store.article_origins()
                known = set(origins) | (dedup.article_ids() if dedup is not None else set())
                wanted = list(dict.fromkeys(article_ids))
                report.unknown = [i for i in wanted if i not in known]
                gone = [i for i in wanted if i in known]
                promoted = self._promotions(gone, set(), duplicate_origins, dedup, report)
                self._finish(promoted, gone, report, dedup, None)
            finally:
                if dedup is not None:
                    dedup.close()
            return report

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """This machine's lock file, and with a Chroma server the server's writer lease as well."""
        with index_lock(self.folder, self.lock_timeout, self.on_lock_wait):
            if not self.store.url:
                yield
                return
            with server_lease(
                self.store.lease_collection(), self.store.where, self.lock_timeout, self.on_lock_wait
            ):
                yield

    def _start_writing(self, dry_run: bool = False) -> None:
        """Under the lock: read a view opened after any earlier writer finished, and repair the BM25
        mirror if an interrupted run left it behind Chroma (not in a dry run, which writes nothing)."""
        if self.store.is_open and not self.store.url:  # opened before the lock: others may have written
            self.store.refresh_view()
        if not dry_run:
            self.store.sync_mirror()

    def _index(
        self,
        articles: Sequence[Article],
        progress: Callable[[int, int], None] | None,
        scope: PruneScope | None,
        dry_run: bool,
    ) -> IndexReport:
        self._start_writing(dry_run)
        report = IndexReport(dry_run=dry_run)
        unique: dict[str, Article] = {}
        for article in articles:
            if article.id in unique:
                where = article.origin or article.url or article.id
                report.skipped.append(Problem(where, f"duplicate article id {article.id}", article.line))
                continue
            unique[article.id] = article
        ordered = list(unique.values())
        report.undated = sum(1 for a in ordered if not a.published)
        report.no_outlet = sum(1 for a in ordered if not a.source)
        self._origins = {a.id: a.origin for a in ordered if a.origin}
        dedup = self._open_dedup()
        try:
            gone: list[str] = []
            if scope is not None:
                gone, promoted = self._judge(scope, set(unique), dedup, report)
                ordered += promoted
            self._finish(ordered, gone, report, dedup, progress)
        finally:
            if dedup is not None:
                dedup.close()
        return report

    def _finish(
        self,
        ordered: list[Article],
        gone: list[str],
        report: IndexReport,
        dedup: DedupIndex | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Index ``ordered``, then remove ``gone`` (or, in a dry run, only say so)."""
        self._origins.update({a.id: a.origin for a in ordered if a.origin})
        if dedup is not None:
            dedup.exclude(gone)  # their duplicates must find another home (or be kept)
        if progress is not None:
            progress(0, len(ordered))
        if report.dry_run:
            for start in range(0, len(ordered), self.batch_articles):
                plan = self._plan(ordered[start : start + self.batch_articles], report, dedup)
                for article, _, existed in plan.write:
                    (report.updated if existed else report.added).append(article.id)
            report.removed.extend(gone)
            return
        self._index_batches(ordered, report, dedup, progress)
        if gone:
            self._prune(gone, report, dedup)

    def _judge(
        self, scope: PruneScope, present: set[str], dedup: DedupIndex | None, report: IndexReport
    ) -> tuple[list[str], list[Article]]:
        """The articles ``--prune`` removes, and the near-duplicates read again to take their place."""
        origins, duplicate_origins = self.store.article_origins()
        known = set(origins) | (dedup.article_ids() if dedup is not None else set())
        gone: list[str] = []
        for article_id in sorted(known - present):
            origin = (
                origins.get(article_id) or duplicate_origins.get(article_id) or origin_from_id(article_id)
            )
            if not origin:
                report.without_origin.append(article_id)
            elif not scope.covers(origin):
                report.elsewhere += 1
            elif (trouble := scope.trouble(origin)) is not None:
                report.kept.append(Kept(article_id, f"{trouble} could not be read in full in this run"))
            else:
                gone.append(article_id)
        return gone, self._promotions(gone, present, duplicate_origins, dedup, report)

    def _promotions(
        self,
        gone: list[str],
        present: set[str],
        duplicate_origins: dict[str, str],
        dedup: DedupIndex | None,
        report: IndexReport,
    ) -> list[Article]:
        """Near-duplicates of articles about to be removed, read again from their files to hold the story.

        A near-duplicate has no chunks of its own: removing the article it points to would drop the
        story from the index. It is read again (and indexed on its own) unless it is in this run's
        input anyway; when it cannot be read, the article stays (in ``report.kept``) and ``gone``
        loses it.
        """
        if dedup is None:
            return []
        promoted: list[Article] = []
        files: dict[str, list[Article]] = {}
        leaving = set(gone)
        for kept_id in list(gone):
            staying = [
                r
                for r in dedup.duplicates_of(kept_id)
                if r.article_id not in present and r.article_id not in leaving
            ]
            found: list[Article] = []
            for record in staying:
                origin = duplicate_origins.get(record.article_id) or origin_from_id(record.article_id)
                if origin is not None and origin not in files:
                    files[origin] = load_paths([Path(origin)]).articles
                article = next((a for a in files.get(origin or "", []) if a.id == record.article_id), None)
                if article is None:
                    gone.remove(kept_id)
                    reason = f"{origin} no longer holds it" if origin else "its file is not recorded"
                    report.kept.append(
                        Kept(
                            kept_id,
                            f"holds the story of its near-duplicate {record.article_id}, and {reason}",
                        )
                    )
                    break
                found.append(article)
            else:
                promoted += found
                report.promoted += [Duplicate(a.id, kept_id) for a in found]
        return promoted

    def _open_dedup(self) -> DedupIndex | None:
        """The dedup records: beside the index, or with a Chroma server on the server for every machine."""
        if not self.dedup:
            return None
        if self.store.url:
            return DedupIndex(ServerRecords(self.store.dedup_collection()))
        return DedupIndex(SqliteRecords(self.dedup_path))

    def _index_batches(
        self,
        ordered: Sequence[Article],
        report: IndexReport,
        dedup: DedupIndex | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Plan and embed each batch one step ahead of writing the one before it.

        The next batch is planned (chunked, deduplicated) on this thread and embedded on a helper thread
        while this thread writes the previous batch to the store, so the store's work no longer leaves
        the cores idle. Every write, and every dedup commit, still happens here, in batch order, each
        batch committing only its own dedup records (see ``_write``).
        """
        from concurrent.futures import ThreadPoolExecutor

        total = len(ordered)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-embed-ahead") as ahead:
            previous: _Batch | None = None
            for start in range(0, total, self.batch_articles):
                plan = self._plan(ordered[start : start + self.batch_articles], report, dedup)
                staged = self._stage(plan, dedup, previous)
                if plan.write:
                    texts = [embedding_text(a, c) for a, chunks, _ in plan.write for c in chunks]
                    staged.vectors = ahead.submit(self.embedder.encode, texts)
                if previous is not None:
                    self._write(previous, report, dedup)
                    if progress is not None:
                        progress(start, total)
                previous = staged
            if previous is not None:
                self._write(previous, report, dedup)
        if progress is not None and total:
            progress(total, total)

    def _plan(self, batch: Sequence[Article], report: IndexReport, dedup: DedupIndex | None) -> _Plan:
        """Decide what a batch writes: unchanged articles and duplicates are reported, not written.

        The origins of unchanged articles and known duplicates are brought up to date as well (an
        article may move to another file, and an index made before origins were recorded gains them).
        """
        ids = [a.id for a in batch]
        targets = set()
        if dedup is not None:
            for article in batch:
                record = dedup.record(article.id)
                if record is not None and record.duplicate_of is not None:
                    targets.add(record.duplicate_of)
        stored = self.store.stored_versions(ids + sorted(targets - set(ids)))
        for held in stored.values():  # kept while a kept article is rewritten without them
            for duplicate, origin in held.duplicate_origins.items():
                self._origins.setdefault(duplicate, origin)
        plan = _Plan()
        for article in batch:
            version = stored.get(article.id)
            complete = version is not None and version.is_complete(article.content_hash)
            if dedup is None:
                if complete:
                    self._unchanged(article, version, plan, report)
                    continue
            else:
                record = dedup.record(article.id)
                if record is not None and record.content_hash == article.content_hash:
                    target = record.duplicate_of
                    # A known duplicate; if it has chunks of its own (indexed with dedup off), decide again.
                    if target is not None and dedup.is_kept(target) and version is None:
                        report.duplicates.append(Duplicate(article.id, target, new=False))
                        kept = stored.get(target)
                        recorded = kept.duplicate_origins.get(article.id) if kept is not None else None
                        if article.origin and kept is not None and recorded != article.origin:
                            plan.sync.add(target)  # its also_in_origins records the new file
                        continue
                    if record.kept and complete:
                        self._unchanged(article, version, plan, report)
                        continue
            chunks = chunk_article(article, self.max_chars, self.overlap)
            if not chunks:
                where = article.origin or article.url or article.id
                report.skipped.append(Problem(where, "no text to index", article.line))
                continue
            if dedup is not None and self._decide(article, version is not None, dedup, plan, report):
                continue  # a duplicate: nothing of its own to write
            if complete:
                self._unchanged(article, version, plan, report)  # only its record was missing
            else:
                plan.write.append((article, chunks, version is not None))
        if self.recognizer is not None and not report.dry_run:
            if plan.write:
                plan.write = self._with_entities(plan.write, self.recognizer)
            # Unchanged articles stored before entities were found gain them (no re-embedding).
            bare = [
                (a, chunk_article(a, self.max_chars, self.overlap), False)
                for a in batch
                if a.id in report.unchanged[-len(batch) :]
                and (v := stored.get(a.id)) is not None
                and v.without_entities
            ]
            if bare:
                plan.entities = [(a, c) for a, c, _ in self._with_entities(bare, self.recognizer)]
        return plan

    @staticmethod
    def _with_entities(
        write: list[tuple[Article, list[Chunk], bool]], recognizer: EntityRecognizer
    ) -> list[tuple[Article, list[Chunk], bool]]:
        """The chunks to write with their named entities: each article's body and headline are read
        once (while the previous batch is being embedded) and the entities shared out by offsets."""
        texts = [article.text for article, _, _ in write] + [article.title for article, _, _ in write]
        found = recognizer.recognise(texts)
        bodies, titles = found[: len(write)], found[len(write) :]
        out = []
        for (article, chunks, existed), body, title in zip(write, bodies, titles, strict=True):
            headline = encode(title)
            out.append(
                (
                    article,
                    [
                        replace(c, entities=encode(within(body, c.start, c.end)), title_entities=headline)
                        for c in chunks
                    ],
                    existed,
                )
            )
        return out

    @staticmethod
    def _unchanged(article: Article, version: StoredVersion | None, plan: _Plan, report: IndexReport) -> None:
        report.unchanged.append(article.id)
        if article.origin and version is not None and version.origins != {article.origin}:
            plan.origins.append((article.id, article.origin))

    @staticmethod
    def _stage(plan: _Plan, dedup: DedupIndex | None, previous: _Batch | None) -> _Batch:
        """What a planned batch will write to the store and commit, fixed before the next one is planned.

        ``also_in`` values are read now, as they stand after this batch's decisions: a duplicate found in
        the next batch adds its kept article to that batch's ``sync`` and is written with it.
        """
        staged = _Batch(plan)
        if dedup is None:
            return staged
        earlier = previous.records if previous is not None else set()
        staged.records = dedup.staged_ids() - earlier
        for article_id in sorted(plan.kept | plan.sync):
            if not dedup.is_kept(article_id):
                continue
            also_in = dedup.also_in(article_id)
            # A kept article is written without also_in: only one with duplicates needs it set.
            if also_in is not None or article_id in plan.sync:
                staged.also_in.append((article_id, also_in))
        return staged

    def _write(self, batch: _Batch, report: IndexReport, dedup: DedupIndex | None) -> None:
        """Write a batch in the crash-safe order: chunks, deletions, also_in, then its dedup records."""
        plan = batch.plan
        if plan.write:
            assert batch.vectors is not None
            vectors = batch.vectors.result()
            offset = 0
            items = []
            for article, chunks, existed in plan.write:
                items.append((article, chunks, vectors[offset : offset + len(chunks)]))
                offset += len(chunks)
                report.chunks_written += len(chunks)
                (report.updated if existed else report.added).append(article.id)
            new = {article.id for article, _, existed in plan.write if not existed}
            self.store.write_articles(items, new=new)
        if plan.delete:
            self.store.delete_articles(plan.delete)
        for article_id, origin in plan.origins:
            self.store.update_metadata(article_id, {"origin": origin})
        for article, chunks in plan.entities:
            self.store.set_entities(article, chunks)
        if dedup is None:
            return
        for article_id, also_in in batch.also_in:
            self.store.set_also_in(article_id, also_in, self._origins)
        dedup.commit(batch.records)

    def _decide(
        self, article: Article, in_store: bool, dedup: DedupIndex, plan: _Plan, report: IndexReport
    ) -> bool:
        """Keep ``article`` or make it a duplicate of a kept one (staged); True for a duplicate."""
        previous = dedup.record(article.id)
        earlier = previous.duplicate_of if previous is not None else None
        if earlier is not None and dedup.is_kept(earlier):
            plan.sync.add(earlier)  # it may leave that article's also_in
        sig = dedup.signature_of(article)
        match = dedup.find(sig, exclude=article.id)
        if match is None:
            dedup.put(record_for(article, sig))
            plan.kept.add(article.id)
            return False
        target, score = match
        dedup.put(record_for(article, sig, duplicate_of=target))
        plan.sync.add(target)
        if in_store:
            plan.delete.append(article.id)
        report.duplicates.append(Duplicate(article.id, target, new=True, similarity=score))
        return True

    def _prune(self, gone: list[str], report: IndexReport, dedup: DedupIndex | None) -> None:
        """Remove articles no longer in the input: their chunks, their records, their also_in mentions."""
        if dedup is not None:
            targets = set()
            for article_id in gone:
                old = dedup.remove(article_id)
                if old is not None and old.duplicate_of is not None:
                    targets.add(old.duplicate_of)
            for target in sorted(targets):
                if dedup.is_kept(target):
                    self.store.set_also_in(target, dedup.also_in(target), self._origins)
        self.store.delete_articles(gone)
        if dedup is not None:
            dedup.commit()
        report.removed.extend(gone)
