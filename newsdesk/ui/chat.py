"""The chat page (Gradio Blocks) and the ``/ask`` and ``/chat`` endpoints ``gradio_client`` calls.

Every question goes through the app's guards: the per-client rate limit, then one of the shared
concurrency slots (a busy service says so, politely, in the chat). The chat keeps the
conversation: a follow-up ("What will he see there?") is rewritten to stand alone and the answer
shows what was searched for; with a language model the answer streams in as it is written, and
the checked answer with its sources replaces the streamed text.
"""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from newsdesk.rag.llm.generate import final_of
from newsdesk.rag.types import Answer
from newsdesk.text import first_unicode_problem, printable
from newsdesk.ui.guard import Busy, Guards, api_input_problem, busy_answer, client_of
from newsdesk.ui.render import escape_untrusted, plain_messages, render_answer, render_partial
from newsdesk.ui.served import served_qa
from newsdesk.wiring import Newsdesk

EXAMPLE_QUESTIONS = [
    "Who is visiting Beijing for security talks?",
    "Where will Russia's Su-57 fighter be shown?",
    "What did Maria Zakharova say about the partnership?",
]


def guarded(
    desk: Newsdesk,
    guards: Guards,
    question: Any,
    source: Any,
    since: Any,
    until: Any,
    client: str | None,
    history: Any = None,
    stream: bool = False,
) -> Iterator[str | Answer]:
    """One question through the guards (input types, the client's rate limit, admission and a
    slot), then the read path: text deltas when ``stream``, then the ``Answer``.

    ``client`` is the asking address (None: not counted, e.g. a call from inside the process);
    ``history`` the conversation so far as plain ``{"role", "content"}`` messages.
    """
    problem = api_input_problem(question, source, since, until) or first_unicode_problem(
        history, "The conversation"
    )
    if problem is not None:
        yield busy_answer(str(question)[:300], problem)
        return
    wait = guards.limits.ask_allowed(client) if client is not None else 0
    if wait:
        yield busy_answer(question, f"You have asked many questions in a short time; try again in {wait} s.")
        return
    try:
        with guards.gate.admission(), guards.gate.slot():
            filters: dict[str, Any] = {
                "source": source or None,
                "since": since or None,
                "until": until or None,
            }
            qa = served_qa(desk, guards)  # counted in the metrics; no server paths shown
            if stream:
                yield from qa.stream(question or "", **filters, history=history or None)
            else:
                yield qa.ask(question or "", **filters, history=history or None)
    except Busy as busy:
        yield busy_answer(question, str(busy))


def chat_messages(items: Iterator[str | Answer]) -> Iterator[str]:
    """The assistant's message as it grows: the streamed text so far (made inert), then the answer
    with its sources, which replaces it."""
    shown = ""
    for item in items:
        if isinstance(item, Answer):
            yield render_answer(item)
            return
        shown += item
        yield render_partial(shown)


def echoed(value: Any) -> Any:
    """``value`` (the chat's history as the client sent it) safe to send back: text that is not valid
    Unicode has U+FFFD in place of what no encoder takes."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [echoed(item) for item in value]
    if isinstance(value, dict):
        return {key: echoed(item) for key, item in value.items()}
    return value


def build_blocks(desk: Newsdesk, guards: Guards) -> gr.Blocks:
    """The chat page; also exposes ``/ask`` (JSON contract) to ``gradio_client``."""

    def answer_for(
        question: Any, source: Any, since: Any, until: Any, history: Any, request: gr.Request | None
    ) -> Answer:
        problem = api_input_problem(question, source, since, until, history)
        if problem is not None:
            return busy_answer(str(question)[:300], problem)
        client = client_of(request) if request is not None else None
        return final_of(guarded(desk, guards, question, source, since, until, client, history))

    def respond(
        message: str,
        history: list[dict[str, Any]],
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
        request: gr.Request | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        shown_question = escape_untrusted(printable(str(message or "")).strip()[:300]) or "…"
        before = [*echoed(history or []), {"role": "user", "content": shown_question}]
        client = client_of(request) if request is not None else None
        items = guarded(
            desk,
            guards,
            message or "",
            sources,
            since or "",
            until or "",
            client,
            plain_messages(history),
            True,
        )
        for content in chat_messages(items):
            yield [*before, {"role": "assistant", "content": content}], ""

    def ask(
        question: str,
        source: list[str] | None = None,
        since: str = "",
        until: str = "",
        history: list[dict[str, str]] | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """The ``ask --json`` contract; ``source``, ``since`` and ``until`` are optional filters;
        ``history`` (``{"role", "content"}`` messages, oldest first) makes a follow-up stand alone."""
        return answer_for(question or "", source, since or "", until or "", history, request).to_dict()

    def known_sources() -> Any:
        return gr.Dropdown(choices=desk.outlets())

    with gr.Blocks(title="Newsdesk") as blocks:
        gr.Markdown(
            "## Newsdesk\nAsk about the indexed news articles. Every sentence of an answer cites the "
            "passage it rests on; when the articles do not hold the answer, Newsdesk says so. "
            "Follow-up questions are read in the light of the conversation."
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
