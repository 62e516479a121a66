"""OpenAI-compatible chat: ``POST /v1/chat/completions`` (streamed or not) and ``GET /v1/models``.

Any OpenAI client (a script using the ``openai`` package, Open WebUI, LibreChat) can then use Newsdesk
as a "model". The messages are the conversation: the last user message is the question and the earlier
user and assistant messages its history (a follow-up is made to stand alone, as on ``/api/ask``). The
reply is the cited answer with a Sources list at the end of its content, and the full citations (the
``ask --json`` contract) in an extra ``citations`` field.

The same guards as ``/api/ask``: the login (``newsdesk.ui.guard.LoginGuard``, in front of every route:
``Authorization: Bearer user:password`` is what an OpenAI client sends with ``api_key="user:password"``),
failed logins throttled, the per-client rate limit (429) and the shared concurrency gate (503 with
Retry-After; the ``openai`` client retries both by itself).

A streamed reply sends the *checked* answer: a model's words are checked and may be cut before they are
shown, and a chat client cannot take back text it has already displayed.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from newsdesk.rag.llm.conversation import MAX_HISTORY_MESSAGES, MAX_MESSAGE_CHARS
from newsdesk.rag.types import Answer, Citation
from newsdesk.reading.markers import ESCAPED_MARKER
from newsdesk.ui.guard import Busy, Guards, api_input_problem, client_of
from newsdesk.wiring import Newsdesk

MODEL_ID = "newsdesk"
SOURCES_HEADING = "**Sources**"

# Characters that make Markdown or HTML do something (tags, images, links, emphasis, code, tables,
# maths in some clients): escaped in article text, so a chat client shows them as typed.
_ACTIVE_MARKDOWN = re.compile(r"([\\`*_\[\]<>!|~$])")
_ESCAPED_MARKDOWN = re.compile(r"\\([\\`*_\[\]<>!|~$])")
_SAFE_URL = re.compile(r"^https?://[^\s<>()\"'`\\\[\]]+$")


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request (text parts only; other parts are ignored)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    """Body of ``POST /v1/chat/completions``; OpenAI's other fields (temperature, ...) are ignored.

    ``source``, ``since`` and ``until`` are Newsdesk's filters (``extra_body`` in the ``openai`` client).
    """

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    source: Any = Field(None, description="outlets to keep (list of names), as on /api/ask")
    since: Any = Field(None, description="published on or after YYYY-MM-DD (or YYYY-MM, YYYY)")
    until: Any = Field(None, description="published on or before YYYY-MM-DD (or YYYY-MM, YYYY)")


def inert(text: str) -> str:
    """Article text made inert for a chat client's Markdown renderer (white space collapsed)."""
    return _ACTIVE_MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _with_markers(text: str) -> str:
    return ESCAPED_MARKER.sub(r"[\1]", inert(text))


def sources_list(citations: list[Citation]) -> str:
    """The Sources list shown at the end of the reply: headline (linked when the link is a real
    http(s) one), outlet and date, other outlets, and the quote."""
    lines = [SOURCES_HEADING, ""]
    for c in citations:
        title = inert(c.title or c.article_id)
        if _SAFE_URL.match(c.url):
            title = f"[{title}]({c.url})"
        meta = ", ".join(inert(part) for part in (c.source, c.published) if part)
        lines.append(f"{c.n}. {title}" + (f" ({meta})" if meta else ""))
        if c.also_in:
            others = ", ".join(inert(o.get("source") or o.get("url", "")) for o in c.also_in)
            lines.append(f"   Also reported by: {others}")
        lines.append(f"   > {inert(c.quote)}")
    return "\n".join(lines)


def reply_content(answer: Answer) -> str:
    """The assistant message: the answer with its ``[n]`` markers, a notice, then the Sources list."""
    body = _with_markers(answer.answer)
    if answer.notice:
        body += f"\n\n_Note: {inert(answer.notice)}_"
    if answer.citations:
        body += "\n\n" + sources_list(answer.citations)
    return body


def history_of(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the conversation before it as plain messages.

    System and tool messages are not part of the conversation; an assistant message loses the Sources
    list and escapes ``reply_content`` added. Only the last ``MAX_HISTORY_MESSAGES`` are read.
    """
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        return "", []
    history: list[dict[str, str]] = []
    for message in messages[:last_user]:
        if message.role not in ("user", "assistant"):
            continue
        text = message.text()
        if message.role == "assistant":
            text = _ESCAPED_MARKDOWN.sub(r"\1", text.split(f"\n\n{SOURCES_HEADING}", 1)[0])
        history.append({"role": message.role, "content": text[:MAX_MESSAGE_CHARS]})
    return messages[last_user].text(), history[-MAX_HISTORY_MESSAGES:]


def completion(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    """A ``chat.completion`` object, with the citations and the whole answer as extra fields."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply_content(answer)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **extras(answer),
    }


def extras(answer: Answer) -> dict[str, Any]:
    contract = answer.to_dict()
    return {"citations": contract["citations"], "newsdesk": contract}


def chunk(
    completion_id: str, created: int, delta: dict[str, str], finish: str | None = None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a streamed reply."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def data_line(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in OpenAI's shape (``{"error": {"message", "type", "code"}}``)."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def openai_router(desk: Newsdesk, guards: Guards, threads: anyio.CapacityLimiter) -> APIRouter:
    """The ``/v1`` routes, answering through ``desk`` behind ``guards``; ``threads`` bounds the worker
    threads (shared with the JSON API)."""
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @router.get("/models")
    async def models(request: Request) -> Any:
        """The one model: Newsdesk's cited answers."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsdesk"}],
        }

    @router.post("/chat/completions")
    async def chat_completions(request: Request, body: ChatCompletionRequest) -> Any:
        """The cited answer to the last user message, in the light of the earlier ones."""
        question, history = history_of(body.messages)
        problem = api_input_problem(question, body.source, body.since, body.until, history)
        if problem is not None:
            return error(400, problem, "invalid_request_error")
        wait = guards.limits.ask_allowed(client_of(request))
        if wait:
            return error(
                429,
                f"too many questions; try again in {wait} s",
                "rate_limit_error",
                {"Retry-After": str(wait)},
            )
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())

        def answer() -> Answer:
            with guards.gate.slot():
                return desk.qa.ask(question, body.source, body.since, body.until, history=history)

        def events() -> Iterator[str]:
            """The reply as chunks; holds the admission (and a slot) until it ends."""
            try:
                with guards.gate.slot():
                    yield ": answering\n\n"  # the slot is taken: the response starts
                    yield data_line(chunk(completion_id, created, {"role": "assistant", "content": ""}))
                    final = desk.qa.ask(question, body.source, body.since, body.until, history=history)
                    content = reply_content(final)
                    for piece in re.findall(r"\S+\s*|\s+", content):
                        yield data_line(chunk(completion_id, created, {"content": piece}))
                    yield data_line({**chunk(completion_id, created, {}, "stop"), **extras(final)})
                    yield "data: [DONE]\n\n"
            finally:
                guards.gate.leave()

        def busy(exception: Busy) -> JSONResponse:
            return error(503, str(exception), "server_error", {"Retry-After": str(exception.retry_after)})

        try:
            guards.gate.admit()
        except Busy as exception:
            return busy(exception)
        if body.stream:
            stream = events()
            try:  # wait for a slot before answering 200, so that a full house is still a 503
                first = await anyio.to_thread.run_sync(next, stream, limiter=threads)
            except Busy as exception:  # the generator has ended and left the house
                return busy(exception)
            return StreamingResponse(
                itertools.chain([first], stream),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            return completion(await anyio.to_thread.run_sync(answer, limiter=threads), completion_id, created)
        except Busy as exception:
            return busy(exception)
        finally:
            guards.gate.leave()

    return router
