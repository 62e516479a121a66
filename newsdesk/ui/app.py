"""The Gradio chat and the HTTP API, served together by one FastAPI app.

Article text is untrusted: everything taken from an article is escaped for HTML *and* Markdown
before the chat renders it, so it can neither run as script nor pull an image from elsewhere.
Routes: ``/`` the chat; ``/api/ask`` JSON answers (the ``ask --json`` contract); ``/healthz``.
With ``auth`` set, the chat asks for a login and the JSON API wants HTTP Basic credentials.
"""

from __future__ import annotations

import html
import re
import secrets
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel

from newsdesk.cli import go_offline
from newsdesk.config import Settings
from newsdesk.rag.types import Answer
from newsdesk.wiring import Newsdesk

if TYPE_CHECKING:
    import gradio as gr

EXAMPLE_QUESTIONS = [
    "Who is visiting Beijing for security talks?",
    "Where will Russia's Su-57 fighter be shown?",
    "What did Maria Zakharova say about the partnership?",
]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$=:^])")
_SAFE_URL = re.compile(r"^https?://[^\s<>()\"'`\\]+$")


_BASIC_AUTH = HTTPBasic(auto_error=False)  # module level: FastAPI resolves annotations from globals


class AskRequest(BaseModel):
    """Body of ``POST /api/ask``: the question and optional filters."""

    question: str
    source: list[str] | None = None
    since: str | None = None
    until: str | None = None


def escape_untrusted(text: str) -> str:
    """Text from an article, made inert for the chat's Markdown and HTML renderer."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


def render_answer(answer: Answer) -> str:
    """The chat message: the answer with its markers, then each cited source with its quote."""
    body = escape_untrusted(answer.answer)
    body = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", body)  # restore our own markers, in bold
    if not answer.citations:
        return body
    lines = [body, "", "**Sources**", ""]
    for c in answer.citations:
        title = escape_untrusted(c.title or c.url or c.article_id)
        meta = " · ".join(escape_untrusted(part) for part in (c.source, c.published) if part)
        link = (
            f" — [link]({c.url})"
            if _SAFE_URL.match(c.url)
            else (f" — {escape_untrusted(c.url)}" if c.url else "")
        )
        lines.append(f"**[{c.n}]** {title}" + (f" ({meta})" if meta else "") + link)
        if c.also_in:
            others = ", ".join(
                escape_untrusted(
                    " ".join(
                        part for part in (o.get("source") or o.get("url", ""), o.get("published", "")) if part
                    )
                )
                for o in c.also_in
            )
            lines.append(f"Also reported by: {others}")
        lines.append(f"> {escape_untrusted(c.quote)}")
        lines.append("")
    return "\n".join(lines).rstrip()


def build_blocks(desk: Newsdesk) -> gr.Blocks:
    """The chat page; also exposes ``/ask`` (JSON contract) to ``gradio_client``."""
    import gradio as gr

    def respond(
        message: str,
        history: list[dict[str, Any]],
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
    ) -> tuple[list[dict[str, Any]], str]:
        answer = desk.qa.ask(message or "", source=sources or None, since=since or None, until=until or None)
        shown_question = escape_untrusted((message or "").strip()[:300]) or "…"
        history = [
            *(history or []),
            {"role": "user", "content": shown_question},
            {"role": "assistant", "content": render_answer(answer)},
        ]
        return history, ""

    def ask(
        question: str, source: list[str] | None = None, since: str = "", until: str = ""
    ) -> dict[str, Any]:
        """The ``ask --json`` contract; ``source``, ``since`` and ``until`` are optional filters."""
        return desk.qa.ask(
            question or "", source=source or None, since=since or None, until=until or None
        ).to_dict()

    def known_sources() -> Any:
        lexical = desk.store.lexical
        return gr.Dropdown(choices=lexical.sources() if lexical is not None else [])

    with gr.Blocks(title="Newsdesk") as blocks:
        gr.Markdown(
            "## Newsdesk\nAsk about the indexed news articles. Every sentence of an answer cites the "
            "passage it rests on; when the articles do not hold the answer, Newsdesk says so."
        )
        chatbot = gr.Chatbot(
            label="Newsdesk",
            height=520,
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            feedback_options=None,
            elem_id="newsdesk-chat",
        )
        with gr.Row():
            question = gr.Textbox(
                placeholder="Ask a question about the articles…",
                show_label=False,
                scale=8,
                elem_id="newsdesk-question",
            )
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="newsdesk-ask")
        with gr.Accordion("Filters", open=False), gr.Row():
            sources = gr.Dropdown(
                choices=[], value=[], multiselect=True, label="Outlets", elem_id="newsdesk-sources", scale=2
            )
            since = gr.Textbox(
                value="", label="Published since", placeholder="YYYY-MM-DD", elem_id="newsdesk-since"
            )
            until = gr.Textbox(
                value="", label="Published until", placeholder="YYYY-MM-DD", elem_id="newsdesk-until"
            )
        gr.Examples(EXAMPLE_QUESTIONS, inputs=question, label="Try")
        inputs = [question, chatbot, sources, since, until]
        question.submit(respond, inputs, [chatbot, question], api_name="chat")
        send.click(respond, inputs, [chatbot, question], api_visibility="private")
        blocks.load(known_sources, None, sources, api_visibility="private")
        gr.api(ask, api_name="ask")
    return blocks


def build_app(desk: Newsdesk) -> FastAPI:
    """FastAPI app with the JSON API and the chat mounted at ``/``."""
    import gradio as gr

    settings = desk.settings
    login = settings.auth_pair()

    def require_login(credentials: Annotated[HTTPBasicCredentials | None, Depends(_BASIC_AUTH)]) -> None:
        if login is None:
            return
        ok = credentials is not None and (
            secrets.compare_digest(credentials.username, login[0])
            and secrets.compare_digest(credentials.password, login[1])
        )
        if not ok:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "login required", headers={"WWW-Authenticate": "Basic"}
            )

    app = FastAPI(title="Newsdesk", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "chunks": desk.store.count()}

    @app.post("/api/ask", dependencies=[Depends(require_login)])
    def api_ask(request: AskRequest) -> dict[str, Any]:
        return desk.qa.ask(request.question, request.source, request.since, request.until).to_dict()

    @app.get("/api/ask", dependencies=[Depends(require_login)])
    def api_ask_get(q: str = "") -> dict[str, Any]:
        return desk.qa.ask(q).to_dict()

    blocks = build_blocks(desk)
    blocks.queue(default_concurrency_limit=settings.concurrency, max_size=256)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=login,
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        ssr_mode=False,
    )


def prepare_index(desk: Newsdesk) -> None:
    """On first start with an empty index, index the seed articles."""
    if desk.store.count() == 0 and desk.settings.seeds.is_dir():
        report = desk.indexer.index_paths([desk.settings.seeds])
        print(f"newsdesk: empty index, indexed seeds: {report.summary()}", file=sys.stderr)


def follow_index(desk: Newsdesk, every_seconds: float, stop: threading.Event) -> None:
    """Keep a running app in step with writers in other processes (``newsdesk index`` runs).

    Embedded store: when its files change, reopen it and bring the BM25 mirror in line. Chroma
    server: compare counts on every tick and the full id sets every twelfth tick.
    """
    store = desk.store
    seen = store.data_version()
    tick = 0
    while not stop.wait(every_seconds):
        tick += 1
        try:
            version = store.data_version()
            if version is not None and version != seen:
                seen = version
                store.reopen()
                store.refresh_lexical(full=True)
            elif version is None:
                store.refresh_lexical(full=tick % 12 == 0)
        except Exception as error:  # keep serving; the next tick tries again
            print(f"newsdesk: index refresh failed: {error}", file=sys.stderr)


def serve(settings: Settings) -> None:
    """Index seeds if needed, load the model, then serve until interrupted."""
    go_offline()
    import uvicorn

    desk = Newsdesk(settings)
    prepare_index(desk)
    desk.embedder.warm_up()
    app = build_app(desk)
    stop = threading.Event()
    threading.Thread(
        target=follow_index, args=(desk, settings.refresh_seconds, stop), name="follow-index", daemon=True
    ).start()
    print(f"newsdesk: serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
