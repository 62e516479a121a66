"""The chat page (Gradio Blocks) and the ``/ask`` and ``/chat`` endpoints ``gradio_client`` calls.

Every question goes through the app's guards: the per-client rate limit, then one of the shared
concurrency slots (a busy service says so, politely, in the chat). The chat keeps the
conversation: a follow-up ("What will he see there?") is rewritten to stand alone and the answer
shows what was searched for; with a language model the answer streams in as it is written, and
the checked answer replaces the streamed text. Its sources fill the panel beside the chat, not the
message.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import gradio as gr

from newsdesk.config import MAX_K
from newsdesk.rag.llm.generate import final_of
from newsdesk.rag.pipeline import AnswerMode
from newsdesk.rag.types import Answer
from newsdesk.text import first_unicode_problem, printable
from newsdesk.ui.articles_tab import build_articles_tab
from newsdesk.ui.feedback import MAX_ANSWER_CHARS, MAX_CITATIONS, MAX_COMMENT_CHARS, FeedbackIn, FeedbackStore
from newsdesk.ui.guard import Busy, Guards, api_input_problem, busy_answer, client_of
from newsdesk.ui.library import Catalog
from newsdesk.ui.render import escape_untrusted, plain_messages, render_answer, render_partial
from newsdesk.ui.served import served_qa
from newsdesk.ui.sources import EMPTY_PANEL, panel_html
from newsdesk.wiring import Newsdesk

STREAM_UPDATE_SECONDS = 0.1
"""Least time between two updates of an answer in the chat: each update is a round through Gradio's
queue (the whole conversation sent again and shown again), so a model's tokens come in batches about a
tenth of a second apart, and an answer that is ready at once (extractive) is sent once."""

EMPTY_INDEX = (
    "**No articles are indexed yet.** Add some on the server with `newsdesk index PATH` "
    "(files or folders of .txt, .md, .html or .jsonl): this page answers from them within seconds, "
    "without a restart."
)


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
    k: Any = None,
    mode: AnswerMode | None = None,
) -> Iterator[str | Answer]:
    """One question through the guards (input types, the client's rate limit, admission and a
    slot), then the read path: text deltas when ``stream``, then the ``Answer``.

    ``client`` is the asking address (None: not counted, e.g. a call from inside the process);
    ``history`` the conversation so far as plain ``{"role", "content"}`` messages; ``source``,
    ``since``, ``until``, ``k`` and ``mode`` reach the read path as ``/api/ask``'s fields do.
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
                "k": whole_number(k),
                "mode": mode or None,
            }
            qa = served_qa(desk, guards)  # counted in the metrics; no server paths shown
            if stream:
                yield from qa.stream(question or "", **filters, history=history or None)
            else:
                yield qa.ask(question or "", **filters, history=history or None)
    except Busy as busy:
        yield busy_answer(question, str(busy))


def paced(
    items: Iterable[str | Answer], seconds: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[str | Answer]:
    """``items`` with their text deltas merged so that at most one is passed on per ``seconds`` (the
    first once ``seconds`` have passed since the start), and the ``Answer`` at once: text that the
    answer replaces within ``seconds`` is never sent."""
    pending = ""
    last = clock()
    for item in items:
        if isinstance(item, Answer):
            pending = ""
            yield item
            continue
        pending += item
        if clock() - last >= seconds:
            yield pending
            pending, last = "", clock()
    if pending:
        yield pending


def whole_number(value: Any) -> Any:
    """A slider's number (``5.0``) as the whole number it is; None for no value; anything else as it
    came (the read path says what is wrong with it)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def chat_messages(items: Iterator[str | Answer]) -> Iterator[str]:
    """The assistant's message as it grows: the streamed text so far (made inert), then the checked
    answer, which replaces it."""
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


def build_blocks(
    desk: Newsdesk, guards: Guards, feedback: FeedbackStore | None = None, catalog: Catalog | None = None
) -> gr.Blocks:
    """The chat page; also exposes ``/ask`` (JSON contract) to ``gradio_client``. With ``feedback``,
    each answer has thumbs up and down (an optional comment goes with them); the example questions
    come from the headlines of the ``catalog``'s newest articles."""
    catalog = catalog or Catalog(desk.store, desk.settings.show_paths)

    def answer_for(
        question: Any,
        source: Any,
        since: Any,
        until: Any,
        history: Any,
        request: gr.Request | None,
        k: Any = None,
        mode: Any = None,
    ) -> Answer:
        problem = api_input_problem(question, source, since, until, history)
        if problem is not None:
            return busy_answer(str(question)[:300], problem)
        client = client_of(request) if request is not None else None
        return final_of(
            guarded(desk, guards, question, source, since, until, client, history, k=k, mode=mode)
        )

    def respond(
        message: str,
        history: list[dict[str, Any]],
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
        k: float | None = None,
        mode: AnswerMode = "generated",
        answers: dict[int, Answer] | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str, dict[int, Answer]]]:
        shown_question = escape_untrusted(printable(str(message or "")).strip()[:300]) or "…"
        before = [*echoed(history or []), {"role": "user", "content": shown_question}]
        client = client_of(request) if request is not None else None
        cited = dict(answers or {})
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
            k,
            mode,
        )
        shown = ""
        for item in paced(items, STREAM_UPDATE_SECONDS):
            if isinstance(item, Answer):
                cited[len(before)] = item  # the panel shows its sources (``show_sources``)
                content = render_answer(item)
            else:
                shown += item
                content = render_partial(shown)
            yield [*before, {"role": "assistant", "content": content}], "", cited

    def show_sources(answers: dict[int, Answer] | None) -> str:
        """The panel for the newest answer."""
        if not answers:
            return EMPTY_PANEL
        return panel_html(answers[max(answers)].citations, catalog.read)

    def select_sources(answers: dict[int, Answer] | None, selected: gr.SelectData) -> Any:
        """The panel for the answer clicked in the chat (an earlier one included)."""
        index = selected.index[0] if isinstance(selected.index, list | tuple) else selected.index
        if not answers or index not in answers:
            return gr.skip()
        return panel_html(answers[index].citations, catalog.read)

    def ask(
        question: str,
        source: list[str] | None = None,
        since: str = "",
        until: str = "",
        history: list[dict[str, str]] | None = None,
        k: int | None = None,
        mode: str | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """The ``ask --json`` contract; ``source``, ``since`` and ``until`` are optional filters;
        ``history`` (``{"role", "content"}`` messages, oldest first) makes a follow-up stand alone;
        ``k`` passages per answer and ``mode`` (``extractive`` or ``generated``) as on ``/api/ask``."""
        answer = answer_for(question or "", source, since or "", until or "", history, request, k, mode)
        return answer.to_dict()

    def give_feedback(
        answers: dict[int, Answer] | None, comment: str, vote: gr.LikeData, request: gr.Request | None = None
    ) -> Any:
        """Store a thumbs up or down on an answer, with the comment typed beside the chat."""
        index = vote.index[0] if isinstance(vote.index, list | tuple) else vote.index
        answer = (answers or {}).get(index)
        if feedback is None or answer is None or vote.liked is None or vote.liked == "":
            return gr.skip(), gr.skip()
        client = client_of(request) if request is not None else None
        if client is not None and guards.limits.ask_allowed(client):
            return gr.skip(), "You have sent many requests in a short time; try again shortly."
        entry = FeedbackIn(
            verdict="up" if vote.liked is True else "down",
            question=answer.question[:1000] or "…",
            answer=answer.answer[:MAX_ANSWER_CHARS],
            comment=str(comment or "")[:MAX_COMMENT_CHARS],
            citations=answer.to_dict()["citations"][:MAX_CITATIONS],
        )
        user = str(getattr(request, "username", "") or "") if request is not None else ""
        feedback.add(entry, user=user)
        return "", "Thank you: your feedback was saved."

    def known_sources() -> Any:
        return gr.Dropdown(choices=desk.outlets())

    def index_state() -> tuple[Any, Any]:
        """Example questions from the newest headlines, or, for an empty index, how to add articles."""
        questions = catalog.example_questions()
        return gr.Dataset(samples=[[q] for q in questions], visible=bool(questions)), gr.Markdown(
            visible=not questions
        )

    with gr.Blocks(title="Newsdesk") as blocks:
        gr.Markdown(
            "## Newsdesk\nAsk about the indexed news articles. Every sentence of an answer cites the "
            "passage it rests on; when the articles do not hold the answer, Newsdesk says so. "
            "Follow-up questions are read in the light of the conversation."
        )
        with gr.Tab("Chat", elem_id="newsdesk-tab-chat"):
            answers = gr.State({})
            with gr.Row(elem_id="newsdesk-main", equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(
                        label="Newsdesk",
                        height=520,
                        sanitize_html=True,
                        allow_tags=False,
                        latex_delimiters=[],
                        feedback_options=("Like", "Dislike") if feedback is not None else None,
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
                    comment = gr.Textbox(
                        placeholder="Optional comment, sent with thumbs up or down on an answer",
                        show_label=False,
                        max_length=MAX_COMMENT_CHARS,
                        elem_id="newsdesk-comment",
                        visible=feedback is not None,
                    )
                    thanks = gr.Markdown("", elem_id="newsdesk-feedback-status")
                with gr.Column(scale=2, min_width=260):
                    with gr.Accordion(
                        "Filters and settings", open=False, elem_id="newsdesk-filters"
                    ) as filters:
                        sources = gr.Dropdown(
                            choices=[],
                            value=[],
                            multiselect=True,
                            # Checked by the read path, as /api/ask's ``source`` (any case; an outlet
                            # that no article is from is said so); the choices come on page load.
                            allow_custom_value=True,
                            label="Outlets",
                            info="Answer only from these outlets (none: all)",
                            elem_id="newsdesk-sources",
                        )
                        with gr.Row():
                            since = gr.Textbox(
                                value="",
                                label="Published from",
                                placeholder="YYYY-MM-DD",
                                elem_id="newsdesk-since",
                            )
                            until = gr.Textbox(
                                value="",
                                label="Published to",
                                placeholder="YYYY-MM-DD",
                                elem_id="newsdesk-until",
                            )
                        passages = gr.Slider(
                            1,
                            MAX_K,
                            value=desk.settings.k,
                            step=1,
                            label="Passages per answer",
                            elem_id="newsdesk-k",
                        )
                        mode = gr.Radio(
                            [
                                ("Written by the language model, checked", "generated"),
                                ("Quoted", "extractive"),
                            ],
                            value="generated",
                            label="Answer",
                            visible=desk.settings.llm != "extractive",  # a choice only with a model
                            elem_id="newsdesk-mode",
                        )
                    gr.Markdown("### Sources")
                    panel = gr.HTML(EMPTY_PANEL, elem_id="newsdesk-panel")
            examples = gr.Dataset(
                components=[question], samples=[], label="Try", elem_id="newsdesk-examples", visible=False
            )
            empty = gr.Markdown(EMPTY_INDEX, visible=False, elem_id="newsdesk-empty")
        with gr.Tab("Articles", elem_id="newsdesk-tab-articles"):
            refresh_articles = build_articles_tab(desk, guards, catalog, feedback)
        inputs = [question, chatbot, sources, since, until, passages, mode, answers]
        outputs = [chatbot, question, answers]
        question.submit(respond, inputs, outputs, api_name="chat").then(
            show_sources, answers, panel, api_visibility="private"
        )
        send.click(respond, inputs, outputs, api_visibility="private").then(
            show_sources, answers, panel, api_visibility="private"
        )
        chatbot.select(select_sources, answers, panel, api_visibility="private")
        chatbot.like(give_feedback, [answers, comment], [comment, thanks], api_visibility="private")
        blocks.load(known_sources, None, sources, api_visibility="private")
        filters.expand(known_sources, None, sources, api_visibility="private")  # outlets indexed since
        blocks.load(index_state, None, [examples, empty], api_visibility="private")
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private")
        blocks.load(*refresh_articles, api_visibility="private")
        gr.api(ask, api_name="ask")
    return blocks
