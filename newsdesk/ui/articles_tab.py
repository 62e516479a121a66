"""The Articles tab: counts, a searchable paged list, the watched feeds, and (for those allowed)
upload, delete and "Add a feed or URL".

Upload, delete and adding a URL are shown only to an admin (or to all with ``--allow-uploads``) and
checked again on every action: a hidden button is not a permission.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import gradio as gr

from newsdesk.index.lock import IndexBusy
from newsdesk.index.watch import FeedOrigin, Refused
from newsdesk.ui.feedback import FeedbackStore
from newsdesk.ui.feeds_api import MAX_URL_CHARS, add_url_now, poll_time, watched
from newsdesk.ui.guard import Guards
from newsdesk.ui.library import ArticleFilter, Catalog
from newsdesk.ui.render import escape_untrusted
from newsdesk.ui.uploads import (
    MAX_FILE_BYTES,
    MAX_FILES,
    SUFFIXES,
    Upload,
    add_uploads,
    delete_article,
    may_change_articles,
    upload_problems,
)
from newsdesk.wiring import Newsdesk

PER_PAGE = 20
COLUMNS = ["Headline", "Outlet", "Published", "Chunks", "Id"]
FEED_COLUMNS = ["Feed", "Watched because", "Last poll (UTC)", "Result"]
WATCHED_BECAUSE: dict[FeedOrigin, str] = {
    "settings": "NEWSDESK_WATCH_FEEDS",
    "app": "added here",
    "watch": "newsdesk watch",
}


def markdown_lines(lines: list[str]) -> str:
    """Lines that hold text from outside (URLs, feed entries' links, reasons) as an inert list."""
    return "\n".join(f"- {escape_untrusted(line)}" for line in lines)


def build_articles_tab(
    desk: Newsdesk, guards: Guards, catalog: Catalog, feedback: FeedbackStore | None
) -> tuple[Any, list[Any], list[Any]]:
    """The tab's components and events (call inside ``gr.Blocks``); returns the refresh to run on
    page load (function, inputs, outputs)."""

    def allowed(request: gr.Request | None) -> bool:
        user = getattr(request, "username", None) if request is not None else None
        return may_change_articles(desk.settings, guards.credentials, user)

    def counts() -> str:
        every = catalog.articles()
        line = f"**{len(every)} articles**, {sum(a.chunks for a in every)} chunks indexed."
        if feedback is not None:
            verdicts = feedback.counts()
            line += f" Feedback: {verdicts['up']} up, {verdicts['down']} down."
        return line

    def listing(query: str, page: float) -> tuple[list[list[Any]], str]:
        number = max(1, int(page or 1))
        total, shown = catalog.page(ArticleFilter(query=str(query or "")[:200]), number, PER_PAGE)
        pages = max(1, -(-total // PER_PAGE))
        rows = [[a.title, a.source, a.published, a.chunks, a.id] for a in shown]
        return rows, f"Page {min(number, pages)} of {pages} ({total} matching)"

    def feed_rows() -> list[list[str]]:
        return [
            [s.url, WATCHED_BECAUSE[s.origin], poll_time(s.last_poll) or "not yet", s.result]
            for s in watched(desk.settings)
        ]

    def refresh(query: str, page: float, request: gr.Request) -> tuple[Any, ...]:
        rows, where = listing(query, page)
        return counts(), rows, where, gr.Group(visible=allowed(request)), feed_rows()

    def upload(
        files: list[Any] | None,
        query: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008  Gradio finds its tracker by this default
    ) -> tuple[Any, ...]:
        """Check, store and index the files, with a progress bar over the articles indexed.

        Gradio passes a live tracker only to a parameter whose *default* is a ``gr.Progress()``; with
        another default (``None``) the parameter stays that default, and calling it failed the event.
        """
        if not allowed(request):
            return "Only an admin may add articles.", gr.skip(), gr.skip(), gr.skip()
        uploads = []
        for file in (files or [])[: MAX_FILES + 1]:
            path = Path(file if isinstance(file, str) else file.name)
            shown = Path(getattr(file, "orig_name", "") or path.name).name
            with contextlib.suppress(OSError):
                with path.open("rb") as stream:
                    uploads.append(Upload(shown, stream.read(MAX_FILE_BYTES + 1)))
                path.unlink()  # the app's copy; ours is named by its content
        problems = upload_problems(uploads)
        if problems:
            return (
                "Nothing was added:\n\n" + "\n".join(f"- {p}" for p in problems),
                gr.skip(),
                gr.skip(),
                gr.skip(),
            )
        progress(0.0, desc="Indexing")

        def indexed(done: int, total: int) -> None:
            progress((done, total), desc="Indexing", unit="articles")

        try:
            outcome = add_uploads(desk, uploads, indexed)
        except IndexBusy:
            return "Another indexing run is writing; try again shortly.", gr.skip(), gr.skip(), gr.skip()
        rows, where = listing(query, 1)
        return "```\n" + outcome.text() + "\n```", counts(), rows, where

    def add_source(url: str, query: str, request: gr.Request) -> tuple[Any, ...]:
        """A news page or a feed indexed now (a feed watched from then on), as ``POST /api/feeds``."""
        unchanged = (gr.skip(), gr.skip(), gr.skip(), gr.skip())
        if not allowed(request):
            return ("Only an admin may add articles.", *unchanged)
        try:
            outcome = add_url_now(desk, str(url or ""))
        except Refused as refused:
            return (f"**Nothing was added.**\n\n{markdown_lines([str(refused)])}", *unchanged)
        except IndexBusy:
            return ("Another indexing run is writing; try again shortly.", *unchanged)
        rows, where = listing(query, 1)
        return markdown_lines(outcome.lines()), counts(), rows, where, feed_rows()

    def delete(article_id: str, query: str, request: gr.Request) -> tuple[Any, ...]:
        if not allowed(request):
            return "Only an admin may delete articles.", gr.skip(), gr.skip(), gr.skip()
        try:
            stored = catalog.resolve(str(article_id or "").strip())
            removed = stored is not None and delete_article(desk, stored)
        except IndexBusy:
            return "Another indexing run is writing; try again shortly.", gr.skip(), gr.skip(), gr.skip()
        rows, where = listing(query, 1)
        message = "Deleted." if removed else "No such article in the index (copy its id from the list)."
        return message, counts(), rows, where

    summary = gr.Markdown(elem_id="newsdesk-article-counts")
    with gr.Row():
        query = gr.Textbox(label="Search headlines and outlets", elem_id="newsdesk-article-search", scale=4)
        page = gr.Number(1, label="Page", minimum=1, precision=0, elem_id="newsdesk-article-page", scale=1)
    where = gr.Markdown()
    table = gr.Dataframe(
        headers=COLUMNS,
        datatype=["str", "str", "str", "number", "str"],
        interactive=False,
        wrap=True,
        elem_id="newsdesk-article-list",
    )
    with gr.Group(visible=False, elem_id="newsdesk-article-admin") as admin:
        files = gr.File(
            label=f"Add articles ({', '.join(SUFFIXES)}; up to {MAX_FILES} files of "
            f"{MAX_FILE_BYTES // 2**20} MB)",
            file_count="multiple",
            file_types=list(SUFFIXES),
            elem_id="newsdesk-upload",
        )
        add = gr.Button("Add to the index", elem_id="newsdesk-upload-button")
        with gr.Row():
            doomed = gr.Textbox(label="Article id to delete", elem_id="newsdesk-delete-id", scale=4)
            remove = gr.Button("Delete", variant="stop", elem_id="newsdesk-delete-button", scale=1)
        status = gr.Markdown(elem_id="newsdesk-upload-status")
        with gr.Row():
            new_url = gr.Textbox(
                label="Add a feed or URL",
                placeholder="https://… a news page, or an RSS or Atom feed (then polled on a schedule)",
                max_length=MAX_URL_CHARS,
                elem_id="newsdesk-add-url",
                scale=4,
            )
            add_url = gr.Button("Add", elem_id="newsdesk-add-url-button", scale=1)
        url_status = gr.Markdown(elem_id="newsdesk-add-url-status")
    feeds = gr.Dataframe(
        headers=FEED_COLUMNS,
        datatype=["str", "str", "str", "str"],
        label="Watched feeds",
        interactive=False,
        wrap=True,
        elem_id="newsdesk-feeds",
    )

    query.submit(lambda q: listing(q, 1), query, [table, where], api_visibility="private")
    page.change(listing, [query, page], [table, where], api_visibility="private")
    add.click(upload, [files, query], [status, summary, table, where], api_visibility="private")
    remove.click(delete, [doomed, query], [status, summary, table, where], api_visibility="private")
    add_url.click(
        add_source, [new_url, query], [url_status, summary, table, where, feeds], api_visibility="private"
    )
    refresher = gr.Button("Refresh", size="sm", elem_id="newsdesk-article-refresh")
    refreshed = [summary, table, where, admin, feeds]
    refresher.click(refresh, [query, page], refreshed, api_visibility="private")
    return refresh, [query, page], refreshed
