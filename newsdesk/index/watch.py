"""Kept fresh: feeds polled on a schedule, only what is new or changed indexed, every round reported.

Each poll is a conditional request (the ``ETag`` and ``Last-Modified`` of the last answer), so a feed
that has not changed costs one ``304``. Of a changed feed, only the entries never indexed, or changed
since (their digest: link, title, date, author, content), are fetched and indexed. What a feed's polls
found is kept in SQLite beside the index (``feeds.sqlite``): validators, the entries indexed, the last
poll and its result, which ``watched_feeds`` lists for the app, and the feeds added from the app
(``add_url``), which a watcher made with ``followed`` polls each round beside its own. A feed that fails
(unreachable, not a feed, the index busy) is reported and polled again next round; the others go on. An
entry that could not be read is not recorded, and the feed's validators are then not kept either, so
the next round fetches the feed in full and tries that entry again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from newsdesk.config import Settings
from newsdesk.index.feeds import (
    Feed,
    FeedEntry,
    NotAFeed,
    SourceLoader,
    SourceResult,
    is_url,
    looks_like_feed,
    parse_feed,
)
from newsdesk.index.fetch import Fetcher, FetchError
from newsdesk.index.indexer import Indexer, IndexReport
from newsdesk.index.load import Article, Problem, UnreadableFile, canonical, read_regular_file
from newsdesk.index.lock import FEEDS_FILE
from newsdesk.index.pages import NoArticleText

FeedOrigin = Literal["settings", "app", "watch"]
"""Why a feed is listed: ``NEWSDESK_WATCH_FEEDS``, added from the app, or polled by ``newsdesk watch``."""


@dataclass(frozen=True)
class FeedStatus:
    """A watched feed as the app lists it: when it was last polled (seconds since the epoch, None
    before the first poll) and what that poll found."""

    url: str
    last_poll: float | None
    result: str
    ok: bool
    failures: int = 0
    """Polls that failed in a row."""
    origin: FeedOrigin = "watch"


class FeedState:
    """What earlier polls found, per feed: validators, entries indexed, last poll and result."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS feeds (
                    url TEXT PRIMARY KEY, etag TEXT NOT NULL DEFAULT '',
                    last_modified TEXT NOT NULL DEFAULT '',
                    last_poll REAL, result TEXT NOT NULL DEFAULT '', ok INTEGER NOT NULL DEFAULT 1,
                    failures INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS entries (
                    feed TEXT NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (feed, key));
                CREATE TABLE IF NOT EXISTS followed (url TEXT PRIMARY KEY, since REAL NOT NULL);
                """
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()

    def validators(self, url: str) -> tuple[str, str]:
        with self._connect() as db:
            row = db.execute("SELECT etag, last_modified FROM feeds WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1]) if row else ("", "")

    def digests(self, url: str) -> dict[str, str]:
        with self._connect() as db:
            return dict(db.execute("SELECT key, digest FROM entries WHERE feed = ?", (url,)).fetchall())

    def record(
        self,
        url: str,
        result: str,
        ok: bool,
        validators: tuple[str, str] | None = None,
        entries: dict[str, str] | None = None,
        when: float | None = None,
    ) -> None:
        """One poll's outcome, in one transaction: validators (None keeps the old ones), entries indexed."""
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO feeds (url) VALUES (?)", (url,))
            db.execute(
                "UPDATE feeds SET last_poll = ?, result = ?, ok = ?, "
                "failures = CASE WHEN ? THEN 0 ELSE failures + 1 END WHERE url = ?",
                (when if when is not None else time.time(), result, int(ok), int(ok), url),
            )
            if validators is not None:
                db.execute("UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?", (*validators, url))
            db.executemany(
                "INSERT OR REPLACE INTO entries (feed, key, digest) VALUES (?, ?, ?)",
                [(url, key, digest) for key, digest in (entries or {}).items()],
            )

    def follow(self, url: str, when: float | None = None) -> bool:
        """Add ``url`` to the feeds polled each round (an app's watcher reads them); False if it was."""
        with self._connect() as db:
            added = db.execute(
                "INSERT OR IGNORE INTO followed (url, since) VALUES (?, ?)",
                (url, when if when is not None else time.time()),
            )
            return added.rowcount > 0

    def followed(self) -> list[str]:
        """The feeds added from the app, oldest first."""
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT url FROM followed ORDER BY since, url")]

    def statuses(self) -> list[FeedStatus]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT url, last_poll, result, ok, failures FROM feeds ORDER BY url"
            ).fetchall()
        return [
            FeedStatus(url, last_poll, result, bool(ok), failures)
            for url, last_poll, result, ok, failures in rows
        ]


def state_path(settings: Settings) -> Path:
    """Where the feeds' state lives: beside the index (or with a Chroma server, beside its lock)."""
    return settings.state_dir / FEEDS_FILE


def watched_feeds(settings: Settings) -> list[FeedStatus]:
    """The feeds being watched, for the app to list: those of ``NEWSDESK_WATCH_FEEDS``, then those added
    from the app (``not polled yet`` before their first poll), then any other that ``newsdesk watch``
    polled into this index."""
    path = state_path(settings)
    state = FeedState(path) if path.exists() else None
    known = {s.url: s for s in state.statuses()} if state is not None else {}
    followed = state.followed() if state is not None else []
    origins: dict[str, FeedOrigin] = {url: "app" for url in followed}
    origins.update({url: "settings" for url in settings.watched_feeds})
    listed = []
    for url in dict.fromkeys([*settings.watched_feeds, *followed]):
        status = known.pop(url, None) or FeedStatus(url, None, "not polled yet", True)
        listed.append(dataclasses.replace(status, origin=origins[url]))
    return listed + list(known.values())


@dataclass
class FeedRound:
    """What one poll of one feed did."""

    url: str
    ok: bool
    result: str
    report: IndexReport | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Watcher:
    """Polls ``feeds`` and indexes what is new or changed with ``indexer``.

    Args:
        feeds: feed URLs or local feed files.
        indexer: where articles go (takes the index's writer lock per feed, as ``index`` does).
        fetcher: the HTTP client (robots.txt, bounds, address checks).
        state: what earlier polls found.
        followed: also poll the feeds added from the app (``FeedState.followed``), read each round.
    """

    feeds: Sequence[str]
    indexer: Indexer
    fetcher: Fetcher
    state: FeedState
    clock: Callable[[], float] = time.time
    followed: bool = False

    def round_feeds(self) -> list[str]:
        """The feeds of the next round: ``feeds``, then (with ``followed``) those added since, each once."""
        every = [*self.feeds, *(self.state.followed() if self.followed else [])]
        return list(dict.fromkeys(every))

    def poll_round(self) -> list[FeedRound]:
        """Poll every feed once; one feed failing never stops the others."""
        rounds = []
        for url in self.round_feeds():
            try:
                rounds.append(self.poll(url))
            except Exception as error:  # a long-running loop must outlive any one feed's failure
                result = f"failed: {error.__class__.__name__}: {error}"
                self.state.record(url, result, ok=False, when=self.clock())
                rounds.append(FeedRound(url, False, result))
        return rounds

    def poll(self, url: str) -> FeedRound:
        """One feed: a conditional request, then the new or changed entries indexed."""
        try:
            fetched = self._read(url)
        except (FetchError, UnreadableFile, NotAFeed) as error:
            reason = error.reason if isinstance(error, FetchError) else str(error)
            result = f"failed: {reason}"
            self.state.record(url, result, ok=False, when=self.clock())
            return FeedRound(url, False, result)
        if fetched is None:
            self.state.record(url, "not modified", ok=True, when=self.clock())
            return FeedRound(url, True, "not modified")
        return self.index_feed(url, *fetched)

    def index_feed(self, url: str, feed: Feed, validators: tuple[str, str]) -> FeedRound:
        """The entries of a fetched feed that are new or changed since the last poll, indexed and
        recorded with the feed's validators."""
        known = self.state.digests(url)
        fresh = [entry for entry in feed.entries if known.get(entry.key) != entry.digest]
        loaded = SourceResult()
        read = self._entries(feed, fresh, loaded)
        report = self.indexer.index_articles(SourceLoader.once_each(list(read.values()), loaded))
        unread = len(fresh) - len(read)
        result = (
            f"{len(fresh)} new or changed of {len(feed.entries)} entries: added {len(report.added)}, "
            f"updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
            f"duplicates {len(report.duplicates)}"
            + (f", {unread} not read (tried again next round)" if unread else "")
        )
        self.state.record(
            url,
            result,
            ok=True,
            validators=validators if not unread else ("", ""),
            entries={key: entry.digest for key, entry in ((e.key, e) for e in fresh) if key in read},
            when=self.clock(),
        )
        return FeedRound(url, True, result, report, loaded.notes, loaded.problems + report.skipped)

    def _read(self, url: str) -> tuple[Feed, tuple[str, str]] | None:
        """The feed and its new validators; None when the server says it has not changed."""
        if not is_url(url):
            return parse_feed(read_regular_file(Path(url)), canonical(Path(url)).as_uri()), ("", "")
        etag, last_modified = self.state.validators(url)
        answer = self.fetcher.get(url, etag=etag, last_modified=last_modified)
        if answer.not_modified:
            return None
        answer.ok(url)
        return parse_feed(answer.content, answer.url), (answer.etag, answer.last_modified)

    def _entries(self, feed: Feed, entries: Sequence[FeedEntry], result: SourceResult) -> dict[str, Article]:
        """Each entry's article, by entry key (entries that could not be read are left out)."""
        loader = SourceLoader(self.fetcher)
        read: dict[str, Article] = {}
        for entry in entries:
            article = loader.entry_article(feed, entry, result)
            if article is not None:
                read[entry.key] = article
        return read

    def run(
        self,
        every: float,
        rounds: int | None = None,
        on_round: Callable[[int, list[FeedRound]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Poll every ``every`` seconds (from the start of one round to the next), ``rounds`` times
        (None: until ``stop`` is set)."""
        stop = stop or threading.Event()
        number = 0
        while rounds is None or number < rounds:
            number += 1
            started = time.monotonic()
            outcome = self.poll_round()
            if on_round is not None:
                on_round(number, outcome)
            if rounds is not None and number >= rounds:
                break
            if stop.wait(max(0.0, every - (time.monotonic() - started))):
                break


class Refused(ValueError):
    """A URL that gives nothing to index, and why; nothing was indexed or recorded."""


@dataclass
class AddedUrl:
    """What adding one URL did: a page indexed, or a feed's entries indexed and the feed followed."""

    url: str
    kind: Literal["page", "feed"]
    report: IndexReport
    result: str
    """One line: the indexer's summary for a page, the poll's result for a feed."""
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """What was skipped, with the reason (the report's and the feed entries' that could not be read)."""
    followed: bool = False
    """A feed: polled each round from now on."""
    newly_followed: bool = False
    """A feed that was not followed before."""


def add_url(url: str, watcher: Watcher) -> AddedUrl:
    """Index a news page or a feed now, through ``watcher``'s fetcher and indexer (the path ``newsdesk
    index URL`` takes); a feed is also followed (``FeedState.follow``), so a watcher made with
    ``followed`` polls it from its next round on. ``Refused`` when the URL is not http(s) or gives
    nothing to index (refused by the fetcher's rules, an HTTP error, no article text): nothing is then
    indexed or recorded. ``IndexBusy`` when another run is writing."""
    url = url.strip()
    if not is_url(url):
        raise Refused("give the http:// or https:// address of a news page or an RSS or Atom feed")
    try:
        fetched = watcher.fetcher.get(url).ok(url)
    except FetchError as error:
        raise Refused(error.reason) from None
    if looks_like_feed(fetched.content_type, fetched.content):
        try:
            feed = parse_feed(fetched.content, fetched.url)
        except NotAFeed as error:
            raise Refused(str(error)) from None
        polled = watcher.index_feed(url, feed, (fetched.etag, fetched.last_modified))
        report = polled.report if polled.report is not None else IndexReport()
        newly = watcher.state.follow(url, watcher.clock())
        return AddedUrl(url, "feed", report, polled.result, polled.notes, polled.problems, True, newly)
    try:
        article = SourceLoader(watcher.fetcher).page_article(fetched)
    except (NoArticleText, UnreadableFile) as error:
        raise Refused(str(error)) from None
    report = watcher.indexer.index_articles([article])
    return AddedUrl(url, "page", report, report.summary(), problems=list(report.skipped))


def watch_in_background(watcher: Watcher, every: float, log: Callable[[str], None]) -> threading.Event:
    """Run ``watcher`` on a daemon thread (for ``newsdesk serve``); set the returned event to stop it."""
    stop = threading.Event()

    def on_round(number: int, outcome: list[FeedRound]) -> None:
        for feed in outcome:
            log(f"watch round {number}: {feed.url}: {feed.result}")

    thread = threading.Thread(
        target=watcher.run,
        kwargs={"every": every, "on_round": on_round, "stop": stop},
        daemon=True,
        name="newsdesk-watch",
    )
    thread.start()
    return stop
