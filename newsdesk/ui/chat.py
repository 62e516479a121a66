"""The chat page (Gradio Blocks) and the ``/ask`` and ``/chat`` endpoints ``gradio_client`` calls.

Every question goes through the app's guards: the per-client rate limit, then one of the shared
concurrency slots (a busy service says so, politely, in the chat).
"""

from typing import Any

import gradio as gr

from newsdesk.rag.types import Answer
from newsdesk.ui.guard import Busy, Guards, api_input_problem, busy_answer, client_of
from newsdesk.ui.render import escape_untrusted, render_answer
from newsdesk.wiring import Newsdesk

EXAMPLE_QUESTIONS = [
    "Who is visiting Beijing for security talks?",
    "Where will Russia's Su-57 fighter be shown?",
    "What did Maria Zakharova say about the partnership?",
]


def build_blocks(desk: Newsdesk, guards: Guards) -> gr.Blocks:
    """The chat page; also exposes ``/ask`` (JSON contract) to ``gradio_client``."""

    def answer_for(question: Any, source: Any, since: Any, until: Any, request: gr.Request | None) -> Answer:
        problem = api_input_problem(question, source, since, until)
        if problem is not None:
            return busy_answer(str(question)[:300], problem)
        wait = guards.limits.ask_allowed(client_of(request)) if request is not None else 0
        if wait:
            return busy_answer(
                question, f"You have asked many questions in a short time; try again in {wait} s."
            )
        try:
            with guards.gate.admission(), guards.gate.slot():
                return desk.qa.ask(
                    question or "", source=source or None, since=since or None, until=until or None
                )
        except Busy as busy:
            return busy_answer(question, str(busy))

    def respond(
        message: str,
        history: list[dict[str, Any]],
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
        request: gr.Request | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        answer = answer_for(message or "", sources, since or "", until or "", request)
        shown_question = escape_untrusted(str(message or "").strip()[:300]) or "…"
        history = [
            *(history or []),
            {"role": "user", "content": shown_question},
            {"role": "assistant", "content": render_answer(answer)},
        ]
        return history, ""

    def ask(
        question: str,
        source: list[str] | None = None,
        since: str = "",
        until: str = "",
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """The ``ask --json`` contract; ``source``, ``since`` and ``until`` are optional filters."""
        return answer_for(question or "", source, since or "", until or "", request).to_dict()

    def known_sources() -> Any:
        return gr.Dropdown(choices=desk.outlets())

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
