"""News pages and feeds added from the app, and the watched feeds: ``POST /api/feeds`` (admins, as for
uploads), ``GET /api/feeds``, and what the Articles tab's "Add a feed or URL" box calls.

A URL goes the way ``newsdesk index URL`` goes (``newsdesk.index.watch.add_url``: the one guarded
fetcher, with its address checks, robots.txt and bounds, then the indexer), now, while the admin waits;
a feed is also followed, so ``serve``'s watcher polls it from its next round on. A refused URL gets its
reason and changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from newsdesk.config import Settings
from newsdesk.index.feeds import is_url
from newsdesk.index.fetch import fetcher_for
from newsdesk.index.lock import IndexBusy
from newsdesk.index.watch import FeedOrigin, FeedState, FeedStatus, Refused, Watcher, add_url, state_path
from newsdesk.index.watch import watched_feeds as watch_list
from newsdesk.ui.guard import Guards, user_of
from newsdesk.ui.uploads import Refusal, may_change_articles
from newsdesk.wiring import Newsdesk

MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class UrlOutcome:
    """What adding a URL did, as the app shows it."""

    url: str
    kind: Literal["page", "feed"]
    followed: bool
    newly_followed: bool
    result: str
    summary: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: list[str]
    skipped: list[str]
    notes: list[str]

    def lines(self) -> list[str]:
        """The outcome line by line, as ``newsdesk index`` and ``newsdesk watch`` print it."""
        if self.kind == "page":
            head = f"Page indexed: {self.summary}"
        elif self.newly_followed:
            head = f"Feed indexed and added to the watched feeds: {self.result}"
        else:
            head = f"Feed indexed (already watched): {self.result}"
        return [
            head,
            *(f"added: {a}" for a in self.added),
            *(f"updated: {a}" for a in self.updated),
            *(f"duplicate: {d}" for d in self.duplicates),
            *(f"skipped: {s}" for s in self.skipped),
            *(f"note: {n}" for n in self.notes),
        ]


def add_url_now(desk: Newsdesk, url: str) -> UrlOutcome:
    """Index a news page or a feed now and follow a feed (``add_url``); ``Refused`` with the reason
    when nothing can be indexed from it, ``IndexBusy`` while another run writes."""
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"a URL of at most {MAX_URL_CHARS} characters, please")
    settings = desk.settings
    fetcher = fetcher_for(settings)
    try:
        watcher = Watcher([], desk.indexer, fetcher, FeedState(state_path(settings)))
        added = add_url(url, watcher)
    finally:
        fetcher.close()
    desk.store.refresh_view()
    report = added.report
    return UrlOutcome(
        url=added.url,
        kind=added.kind,
        followed=added.followed,
        newly_followed=added.newly_followed,
        result=added.result,
        summary=report.summary(),
        added=list(report.added),
        updated=list(report.updated),
        unchanged=list(report.unchanged),
        duplicates=[str(d) for d in report.duplicates],
        skipped=[str(p) for p in added.problems],
        notes=list(added.notes),
    )


def shown_feed(feed: str, show_paths: bool) -> str:
    """A feed as visitors see it: its URL, or a feed file (``NEWSDESK_WATCH_FEEDS``) by its name only."""
    return feed if is_url(feed) or show_paths else Path(feed).name


def poll_time(seconds: float | None) -> str:
    """When a feed was last polled, in UTC (ISO 8601); empty before its first poll."""
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def watched(settings: Settings) -> list[FeedStatus]:
    """The watched feeds as visitors see them (no server paths)."""
    return [
        FeedStatus(shown_feed(s.url, settings.show_paths), s.last_poll, s.result, s.ok, s.failures, s.origin)
        for s in watch_list(settings)
    ]


class WatchedFeed(BaseModel):
    """One watched feed: why it is watched, when it was last polled and what that poll found."""

    url: str
    origin: FeedOrigin
    """``settings`` (NEWSDESK_WATCH_FEEDS), ``app`` (added in the app) or ``watch`` (``newsdesk watch``)."""
    last_poll: str | None
    """UTC, ISO 8601; null before the first poll."""
    result: str
    """``N new or changed of M entries: added ...``, ``not modified``, ``failed: REASON``, or
    ``not polled yet``."""
    ok: bool
    failures: int
    """Polls that failed in a row."""


class FeedList(BaseModel):
    feeds: list[WatchedFeed]


class AddUrl(BaseModel):
    """Body of ``POST /api/feeds``."""

    url: str = Field(max_length=MAX_URL_CHARS, description="a news page or an RSS/Atom feed, http(s)")


class AddedUrl(BaseModel):
    """What ``POST /api/feeds`` did: a page indexed, or a feed's entries indexed and the feed followed."""

    url: str
    kind: Literal["page", "feed"]
    followed: bool
    """A feed, polled each round from now on (also when it already was)."""
    result: str
    """A feed: the poll's one-line result, as ``newsdesk watch`` prints it; a page: the summary."""
    summary: str
    """As ``newsdesk index`` prints it."""
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: list[str]
    skipped: list[str]
    """``URL: reason`` for each entry or page that could not be indexed."""
    notes: list[str]


def feeds_router(desk: Newsdesk, guards: Guards) -> APIRouter:
    """``GET /api/feeds`` (every logged-in user) and ``POST /api/feeds`` (403 unless the user may change
    the articles)."""
    router = APIRouter(tags=["feeds"])
    settings = desk.settings

    @router.get("/api/feeds", response_model=FeedList)
    def list_feeds() -> Any:
        """The watched feeds, with their last poll and its result."""
        return FeedList(
            feeds=[
                WatchedFeed(
                    url=s.url,
                    origin=s.origin,
                    last_poll=poll_time(s.last_poll) or None,
                    result=s.result,
                    ok=s.ok,
                    failures=s.failures,
                )
                for s in watched(settings)
            ]
        )

    @router.post(
        "/api/feeds",
        response_model=AddedUrl,
        responses={400: {"model": Refusal}, 403: {"model": Refusal}, 409: {"model": Refusal}},
    )
    async def add_feed(request: Request, body: AddUrl) -> Any:
        """Index a news page or a feed now, through the same fetcher as ``newsdesk index URL``; a feed is
        also watched from now on."""
        if not may_change_articles(settings, guards.credentials, user_of(request)):
            return JSONResponse({"detail": "only an admin may add articles"}, status_code=403)
        import anyio

        try:
            outcome = await anyio.to_thread.run_sync(add_url_now, desk, body.url)
        except Refused as refused:
            return JSONResponse(
                {"detail": "nothing was added", "problems": [f"{body.url.strip()}: {refused}"]},
                status_code=400,
            )
        except IndexBusy:
            return JSONResponse(
                {"detail": "another indexing run is writing; try again shortly"}, status_code=409
            )
        fields = {name: getattr(outcome, name) for name in AddedUrl.model_fields}
        return AddedUrl(**fields)

    return router
