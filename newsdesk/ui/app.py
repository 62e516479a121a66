"""The app: the JSON API and the chat, served together by one FastAPI app behind one set of guards.

Routes: ``/`` the chat (``newsdesk.ui.chat``); ``/api/ask`` JSON answers (the ``ask --json``
contract; a ``history`` makes a follow-up stand alone); ``/api/ask/stream`` the same answer as
server-sent events (``delta`` events as a model writes, then one ``answer`` event); ``/healthz``.
With users configured, the chat asks for a login and the JSON API wants HTTP Basic credentials;
failed logins are throttled per client.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from newsdesk.config import Settings
from newsdesk.index.follow import IndexFollower
from newsdesk.rag.llm.conversation import MAX_HISTORY_MESSAGES, MAX_MESSAGE_CHARS
from newsdesk.rag.types import Answer
from newsdesk.ui.guard import Busy, Guards, api_input_problem, client_of
from newsdesk.wiring import Newsdesk

_BASIC_AUTH = HTTPBasic(auto_error=False)  # module level: FastAPI resolves annotations from globals


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

    settings = desk.settings
    guards = guards or Guards.from_settings(settings)
    credentials = guards.credentials
    # Threads for the JSON API: the questions answered plus those allowed to wait, no more.
    api_threads = anyio.CapacityLimiter(settings.concurrency + settings.queue)

    def require_login(
        request: Request, credentials_given: Annotated[HTTPBasicCredentials | None, Depends(_BASIC_AUTH)]
    ) -> None:
        if credentials is None:
            return
        client = client_of(request)
        wait = guards.limits.login_blocked(client)
        if wait:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed logins; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if credentials_given is not None and credentials.verify(
            credentials_given.username, credentials_given.password
        ):
            return
        if credentials_given is not None:
            guards.limits.login_failed(client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "login required", headers={"WWW-Authenticate": "Basic"}
        )

    app = FastAPI(title="Newsdesk", docs_url="/api/docs", openapi_url="/api/openapi.json")

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
    ) -> Any:
        problem = api_input_problem(question, source, since, until)
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=422)
        wait = guards.limits.ask_allowed(client_of(request))
        if wait:
            return JSONResponse(
                {"detail": f"too many questions; try again in {wait} s"},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )

        def run() -> dict[str, Any]:
            with guards.gate.slot():
                return desk.qa.ask(question, source, since, until, history=history, as_of=as_of).to_dict()

        def events() -> Iterator[str]:
            """The answer as server-sent events; holds the admission (and a slot) until it ends."""
            try:
                with guards.gate.slot():
                    yield ": answering\n\n"  # the slot is taken: the response starts
                    for item in desk.qa.stream(question, source, since, until, history=history, as_of=as_of):
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

    @app.post("/api/ask", dependencies=[Depends(require_login)])
    async def api_ask(request: Request, body: AskRequest) -> Any:
        return await answer_json(
            request, body.question, body.source, body.since, body.until, body.turns(), as_of=body.as_of
        )

    @app.post("/api/ask/stream", dependencies=[Depends(require_login)])
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
        )

    @app.get("/api/ask", dependencies=[Depends(require_login)])
    async def api_ask_get(request: Request, q: str = "") -> Any:
        return await answer_json(request, q, None, None, None)

    blocks = build_blocks(desk, guards)
    blocks.queue(
        default_concurrency_limit=settings.concurrency, max_size=settings.concurrency + settings.queue
    )
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=credentials.verify if credentials is not None else None,
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        ssr_mode=False,
    )
    if credentials is not None:
        mounted.add_middleware(ChatGuard, guards=guards, chat=gradio_app_of(mounted))
    return mounted


def gradio_app_of(app: FastAPI) -> Any:
    """The Gradio app mounted inside ``app`` (it keeps the chat's login sessions)."""
    for route in app.routes:
        inner = getattr(route, "app", None)
        if inner is not None and hasattr(inner, "tokens") and hasattr(inner, "cookie_id"):
            return inner
    raise RuntimeError("no Gradio app is mounted")


# Gradio routes that must answer before a login (the login page itself needs them).
_OPEN_CHAT_PATHS = ("/gradio_api/login_check", "/gradio_api/startup-events", "/gradio_api/app_id")


class ChatGuard:
    """ASGI middleware for the chat's own routes when a login is required.

    Throttles failed logins on ``POST /login`` (429 with Retry-After once a client has failed
    ``login_attempts`` times in the window, even with the right password), and turns away requests
    to ``/gradio_api/...`` that carry neither a login session nor valid HTTP Basic credentials
    (some of Gradio's routes, such as ``/gradio_api/cancel``, do not check the login themselves).
    """

    def __init__(self, app: Any, guards: Guards, chat: Any) -> None:
        self.app = app
        self.guards = guards
        self.chat = chat

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request
        from starlette.responses import JSONResponse

        request = Request(scope)
        path = scope["path"].rstrip("/")
        client = client_of(request)
        if path == "/login" and scope["method"] == "POST":
            wait = self.guards.limits.login_blocked(client)
            if wait:
                await JSONResponse(
                    {"detail": f"too many failed logins; try again in {wait} s"},
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )(scope, receive, send)
                return
            await self.app(scope, receive, self._watch_login(send, client))
            return
        if path.startswith("/gradio_api/") and path not in _OPEN_CHAT_PATHS and not self._logged_in(request):
            await JSONResponse({"detail": "login required"}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _watch_login(self, send: Any, client: str) -> Any:
        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                self.guards.limits.login_failed(client)
            await send(message)

        return watched

    def _logged_in(self, request: Any) -> bool:
        cookie_id = self.chat.cookie_id
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            token = request.cookies.get(name)
            if token and token in self.chat.tokens:
                return True
        header = request.headers.get("authorization", "")
        credentials = self.guards.credentials
        if header.lower().startswith("basic ") and credentials is not None:
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return credentials.verify(user, password)
        return False


def prepare_index(desk: Newsdesk) -> None:
    """On first start with an empty index, index the seed articles; repair the BM25 mirror if needed."""
    if desk.store.count() == 0 and desk.settings.seeds.is_dir():
        report = desk.indexer.index_paths([desk.settings.seeds])
        print(f"newsdesk: empty index, indexed seeds: {report.summary()}", file=sys.stderr)
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


def serve(settings: Settings) -> None:
    """Index seeds if needed, load the model, then serve until interrupted or terminated.

    SIGTERM and Ctrl-C stop accepting questions, give those in flight a few seconds, then end the
    process whatever its threads are doing.
    """
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
        print(f"newsdesk: serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)

    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5
        )
    )
    try:
        server.run()
    finally:
        guards.follower.stop()
    if not server.started:
        raise ValueError(f"could not start serving on {settings.host}:{settings.port} (see the log above)")
    print("newsdesk: stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # questions still running in worker threads must not keep a stopped server alive
