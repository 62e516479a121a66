"""The app: the JSON API and the chat, served together by one FastAPI app behind one set of guards.

Routes: ``/`` the chat (``newsdesk.ui.chat``); ``/api/ask`` JSON answers (the ``ask --json``
contract; a ``history`` makes a follow-up stand alone); ``/api/ask/stream`` the same answer as
server-sent events (``delta`` events as a model writes, then one ``answer`` event); ``/v1/...``
OpenAI-compatible chat (``newsdesk.ui.openai_api``); ``/api/articles``, ``/api/feeds`` and
``/api/feedback``; ``/healthz``; ``/metrics`` (Prometheus, ``newsdesk.ui.observe``).
With users configured, every route but the login page and ``/healthz`` wants a login
(``newsdesk.ui.guard.Login``: the chat's session cookie, HTTP Basic, or a Bearer token), failed logins
are throttled per client address and user name; Gradio's upload route is closed unless
``NEWSDESK_UPLOAD_MAX_BYTES`` opens it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from newsdesk.config import MAX_K, Settings
from newsdesk.extras import require_llm_packages
from newsdesk.index.follow import IndexFollower
from newsdesk.rag.llm.conversation import MAX_HISTORY_MESSAGES, MAX_MESSAGE_CHARS
from newsdesk.rag.pipeline import AnswerMode
from newsdesk.rag.types import Answer
from newsdesk.text import first_unicode_problem
from newsdesk.ui.articles_api import articles_router
from newsdesk.ui.feedback import FeedbackStore, feedback_path, feedback_router
from newsdesk.ui.feeds_api import feeds_router
from newsdesk.ui.guard import (
    Busy,
    Guards,
    LoginGuard,
    SchemaHiddenBeforeLogin,
    UploadGuard,
    api_input_problem,
    client_of,
)
from newsdesk.ui.library import Catalog
from newsdesk.ui.observe import METRICS_CONTENT_TYPE, AccessLog, configure_logging, log_fields
from newsdesk.ui.openai_api import openai_router
from newsdesk.ui.proxy import uvicorn_settings
from newsdesk.ui.served import served_qa
from newsdesk.ui.uploads import may_change_articles, upload_request_limit, uploads_router
from newsdesk.wiring import Newsdesk

_log = logging.getLogger("newsdesk.serve")


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class AskRequest(BaseModel):
    """Body of ``POST /api/ask``: the question, optional filters, and the conversation so far."""

    question: str
    source: list[str] | None = None
    since: str | None = None
    until: str | None = None
    as_of: str | None = None
    """The day the question is asked on (YYYY-MM-DD): "this week", "yesterday" count back from it."""
    k: int | None = Field(None, ge=1, le=MAX_K)
    """Passages retrieved for this question (default: NEWSDESK_K)."""
    mode: AnswerMode | None = None
    """``extractive`` quotes the articles without asking the language model; ``generated`` (the default)
    lets the configured model write the answer."""
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_MESSAGES)
    """Earlier messages, oldest first: a follow-up is rewritten to stand alone (``standalone_question``)."""

    def turns(self) -> list[dict[str, str]]:
        return [turn.model_dump() for turn in self.history]


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def build_app(desk: Newsdesk, guards: Guards | None = None) -> FastAPI:
    """FastAPI app with the JSON API and the chat mounted at ``/``, behind one set of guards."""
    import gradio as gr

    from newsdesk.ui.chat import build_blocks
    from newsdesk.ui.sources import MARKER_SCRIPT, PANEL_CSS

    settings = desk.settings
    guards = guards or Guards.from_settings(settings)
    login = guards.login
    # Threads for the JSON API: the questions answered plus those allowed to wait, no more.
    api_threads = anyio.CapacityLimiter(settings.concurrency + settings.queue)

    app = FastAPI(title="Newsdesk", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url="/redoc")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        """FastAPI's 422, with text that is not valid Unicode named as every edge names it, and
        written as ASCII JSON (the input it echoes may hold lone surrogates)."""
        for problem in error.errors():
            where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "the body"
            message = first_unicode_problem(problem.get("input"), where)
            if message is not None:
                return JSONResponse({"detail": f"{message}; send UTF-8 text."}, status_code=422)
        body = json.dumps({"detail": jsonable_encoder(error.errors())}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        """A request that fails inside Newsdesk: its traceback in the log (``newsdesk.serve``), a plain
        500 to the client (never the error's text: it may quote an article or a path)."""
        _log.error(
            "%s %s failed",
            request.method,
            request.url.path,
            exc_info=error,
            extra=log_fields(path=request.url.path),
        )
        return JSONResponse({"detail": "internal error; the server's log has the details"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        follower = guards.follower
        return {
            "status": "ok",
            "chunks": desk.store.count(),
            **guards.gate.stats(),
            "generation": desk.store.generation,
            "refreshed": follower.refreshed if follower is not None else "",
            "refresh_error": follower.last_error if follower is not None else "",
        }

    async def answer_json(
        request: Request,
        question: Any,
        source: Any,
        since: Any,
        until: Any,
        history: list[dict[str, str]] | None = None,
        stream: bool = False,
        as_of: str | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
    ) -> Any:
        problem = api_input_problem(question, source, since, until, history)
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=422)
        wait = guards.limits.ask_allowed(client_of(request))
        if wait:
            return JSONResponse(
                {"detail": f"too many questions; try again in {wait} s"},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )

        qa = served_qa(desk, guards)  # counted in the metrics; no server paths shown

        def run() -> dict[str, Any]:
            with guards.gate.slot():
                answer = qa.ask(question, source, since, until, history=history, as_of=as_of, k=k, mode=mode)
                return answer.to_dict()

        def events() -> Iterator[str]:
            """The answer as server-sent events; holds the admission (and a slot) until it ends."""
            try:
                with guards.gate.slot():
                    yield ": answering\n\n"  # the slot is taken: the response starts
                    asked = qa.stream(
                        question, source, since, until, history=history, as_of=as_of, k=k, mode=mode
                    )
                    for item in asked:
                        if isinstance(item, Answer):
                            yield sse("answer", item.to_dict())
                        else:
                            yield sse("delta", {"text": item})
            finally:
                guards.gate.leave()

        try:
            guards.gate.admit()
        except Busy as busy:
            return JSONResponse(
                {"detail": str(busy)}, status_code=503, headers={"Retry-After": str(busy.retry_after)}
            )
        if stream:
            stream_events = events()
            try:  # wait for a slot before answering 200, so that a full house is still a 503
                first = await anyio.to_thread.run_sync(next, stream_events, limiter=api_threads)
            except Busy as busy:  # the generator has ended and left the house
                return JSONResponse(
                    {"detail": str(busy)}, status_code=503, headers={"Retry-After": str(busy.retry_after)}
                )
            return StreamingResponse(
                itertools.chain([first], stream_events),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            return await anyio.to_thread.run_sync(run, limiter=api_threads)
        except Busy as busy:
            return JSONResponse(
                {"detail": str(busy)}, status_code=503, headers={"Retry-After": str(busy.retry_after)}
            )
        finally:
            guards.gate.leave()

    @app.post("/api/ask")
    async def api_ask(request: Request, body: AskRequest) -> Any:
        return await answer_json(
            request,
            body.question,
            body.source,
            body.since,
            body.until,
            body.turns(),
            as_of=body.as_of,
            k=body.k,
            mode=body.mode,
        )

    @app.post("/api/ask/stream")
    async def api_ask_stream(request: Request, body: AskRequest) -> Any:
        """The answer as server-sent events: ``delta`` ({"text"}) events while a model writes, then
        one ``answer`` event (the ``ask --json`` contract), which replaces the streamed text."""
        return await answer_json(
            request,
            body.question,
            body.source,
            body.since,
            body.until,
            body.turns(),
            stream=True,
            as_of=body.as_of,
            k=body.k,
            mode=body.mode,
        )

    @app.get("/api/ask")
    async def api_ask_get(request: Request, q: str = "") -> Any:
        return await answer_json(request, q, None, None, None)

    guards.metrics.watch(guards.refusals, guards.gate.stats, desk.store)

    @app.get(
        "/metrics",
        include_in_schema=False,
    )
    def metrics() -> Response:
        """Prometheus text format (``newsdesk.ui.observe``); behind the login (``LoginGuard``) unless
        NEWSDESK_METRICS_OPEN."""
        return Response(guards.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    # Every route below is behind ``LoginGuard`` (added at the end), like the ones above.
    app.include_router(openai_router(desk, guards, api_threads))
    feedback = FeedbackStore(feedback_path(settings))
    app.include_router(feedback_router(feedback, guards))
    catalog = Catalog(desk.store, settings.show_paths)
    app.include_router(articles_router(catalog))
    app.include_router(uploads_router(desk, guards, catalog))
    app.include_router(feeds_router(desk, guards))
    blocks = build_blocks(desk, guards, feedback, catalog)
    blocks.queue(
        default_concurrency_limit=settings.chat_workers,
        max_size=settings.concurrency + settings.queue,
        status_update_rate=QUEUE_STATUS_SECONDS,
    )
    skip_event_statistics(blocks._queue)
    upload_limit = upload_request_limit(settings, guards.credentials)
    if upload_limit:
        blocks.delete_cache = UPLOADS_KEPT  # uploads are removed an hour after they came
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=login.chat_login if login is not None else None,
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        ssr_mode=False,
        max_file_size=upload_limit or None,
        root_path=settings.root_path or None,
        css=PANEL_CSS,
        head=MARKER_SCRIPT,
    )
    chat = gradio_app_of(mounted)
    # The last added runs first: the access log, the login, then the chat page's schema, then the
    # upload limit.
    mounted.add_middleware(
        UploadGuard,
        max_bytes=upload_limit,
        upload_dir=Path(chat.uploaded_file_dir),
        # An operator's NEWSDESK_UPLOAD_MAX_BYTES opens uploads to every logged-in user; otherwise only
        # those who may add articles send a body at all.
        may_upload=None
        if settings.upload_max_bytes
        else (lambda user: may_change_articles(settings, guards.credentials, user)),
    )
    if login is not None:
        if not settings.api_docs_public:
            mounted.add_middleware(SchemaHiddenBeforeLogin, login=login)
        mounted.add_middleware(
            LoginGuard,
            login=login,
            chat=chat,
            docs_public=settings.api_docs_public,
            metrics_public=settings.metrics_open,
        )
    if settings.access_log:  # added last: the outermost, so it sees every answer, refusals included
        mounted.add_middleware(AccessLog)
    return mounted


QUEUE_STATUS_SECONDS = 1.0
"""How often visitors waiting in the chat's queue hear their place in it. Gradio's default ("auto") tells
every waiting visitor again each time any question starts: with 40 waiting, 40 messages per question."""


def skip_event_statistics(queue: Any) -> None:
    """Gradio's queue keeps the last 10,000 events and, after every event, summarises them with pandas
    for a monitoring dashboard this app never opens: 5 ms per event, 21 ms once 10,000 are kept
    (measured), on the server's busiest path. Keep one record and never summarise."""
    queue.ANALYTICS_MAX_EVENTS = 1
    queue.ANAYLTICS_CACHE_FREQUENCY = sys.maxsize  # (sic) Gradio's spelling


UPLOADS_KEPT = (600, 3600)
"""Gradio's clean-up of uploaded files when uploads are open: every 10 minutes, those over an hour old."""


def gradio_app_of(app: FastAPI) -> Any:
    """The Gradio app mounted inside ``app`` (it keeps the chat's login sessions)."""
    for route in app.routes:
        inner = getattr(route, "app", None)
        if inner is not None and hasattr(inner, "tokens") and hasattr(inner, "cookie_id"):
            return inner
    raise RuntimeError("no Gradio app is mounted")


def prepare_index(desk: Newsdesk) -> None:
    """On first start with an empty index, index the seed articles; repair the BM25 mirror if needed."""
    if desk.store.count() == 0 and desk.settings.seeds.is_dir():
        report = desk.indexer.index_paths([desk.settings.seeds])
        _log.info(
            "empty index, indexed seeds: %s",
            report.summary(),
            extra=log_fields(seeds=str(desk.settings.seeds), added=len(report.added)),
        )
    else:
        desk.repair_mirror()


def check_port_free(host: str, port: int) -> None:
    """Fail before any slow start-up when the address is taken, with a message that says what to do."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"port {port} on {host} is already in use (another `newsdesk serve`?); "
                    f"stop it or pass another --port (or NEWSDESK_PORT)"
                ) from None
            raise ValueError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None


def limit_malloc_arenas() -> None:
    """Fewer glibc malloc arenas: each refresh opens a view whose threads would otherwise leave memory
    spread over new arenas that never shrink (RSS grew with every refresh; measured flat with 2)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).mallopt(-8, 2)  # M_ARENA_MAX


def graceful_server(config: Any) -> Any:
    """A uvicorn server on which SIGTERM and SIGINT take the same path: a graceful shutdown, then back
    to ``serve`` (which says ``newsdesk: stopped`` and exits 0).

    uvicorn raises the signal again once it has shut down, so SIGTERM would end the process with
    exit code 143 before ``serve`` could finish, and Ctrl-C would come back as a KeyboardInterrupt.
    """
    import uvicorn

    class GracefulServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()  # handled here: not raised again after the shutdown

    return GracefulServer(config)


def serve(settings: Settings) -> None:
    """Index seeds if needed, load the model, then serve until interrupted or terminated.

    SIGTERM and Ctrl-C stop accepting questions, give those in flight a few seconds, then end the
    process whatever its threads are doing.
    """
    configure_logging()
    require_llm_packages(settings)  # a missing extra is named before the slow start-up
    limit_malloc_arenas()
    check_port_free(settings.host, settings.port)
    import uvicorn

    guards = Guards.from_settings(settings)
    desk = Newsdesk(settings)
    prepare_index(desk)
    desk.embedder.warm_up()
    app = build_app(desk, guards)
    guards.follower = IndexFollower(desk.store, settings.refresh_seconds)

    @app.on_event("startup")
    async def announce() -> None:
        assert guards.follower is not None
        guards.follower.start()
        _log.info(
            "newsdesk: serving on http://%s:%s%s",
            settings.host,
            settings.port,
            settings.root_path,
            extra=log_fields(trusted_proxies=settings.trusted_proxies, root_path=settings.root_path),
        )

    server = graceful_server(uvicorn.Config(app, **uvicorn_settings(settings)))
    try:
        server.run()
    finally:
        guards.follower.stop()
    if not server.started:
        raise ValueError(f"could not start serving on {settings.host}:{settings.port} (see the log above)")
    _log.info("newsdesk: stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # questions still running in worker threads must not keep a stopped server alive
