"""How an answer is shown in the chat: article text made inert, our own markers kept.

Article text is untrusted: everything taken from an article is escaped for HTML *and* Markdown
before the chat renders it, so it can neither run as script nor pull an image from elsewhere.
"""

from __future__ import annotations

import html
import re
from typing import Any

from newsdesk.rag.types import Answer
from newsdesk.reading.markers import ESCAPED_MARKER, MARKER

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$=:^])")


def escape_untrusted(text: str) -> str:
    """Text from an article, made inert for the chat's Markdown and HTML renderer."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


SEARCHED_FOR = "*Searched for: "
NOTE = "*Note: "
SOURCES = "**Sources**"
"""How chat messages of earlier versions listed their sources (a history sent back may hold it)."""


def _with_markers(text: str) -> str:
    """Untrusted text made inert, with our own ``[n]`` markers restored, in bold."""
    return ESCAPED_MARKER.sub(r"**[\1]**", escape_untrusted(text))


def render_partial(text: str) -> str:
    """An answer while a model writes it (markers already checked by the stream), made inert."""
    return _with_markers(text) + " …"


def render_answer(answer: Answer) -> str:
    """The chat message: the question as searched (a rewritten follow-up), the answer with its
    ``[n]`` markers, and a notice if any. The sources are not repeated here: the sources panel beside
    the chat shows each one (``newsdesk.ui.sources``), and a marker brings it into view."""
    body = _with_markers(answer.answer)
    if answer.standalone_question:
        body = f"{SEARCHED_FOR}{escape_untrusted(answer.standalone_question)}*\n\n{body}"
    if answer.notice:
        body = f"{body}\n\n{NOTE}{escape_untrusted(answer.notice)}*"
    return body


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~>$=:^])")


def unescape_untrusted(text: str) -> str:
    """The plain text that ``escape_untrusted`` made inert (white space stays collapsed)."""
    return html.unescape(_ESCAPED.sub(r"\1", text))


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or Gradio's list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    if isinstance(content, list | tuple):
        return " ".join(message_text(part) for part in content)
    return ""


def plain_messages(chat: Any) -> list[dict[str, str]]:
    """The conversation as plain ``{"role", "content"}`` messages, from the chat's rendered ones:
    escapes undone, and an answer without the searched-for line, notice and sources."""
    messages: list[dict[str, str]] = []
    for message in chat if isinstance(chat, list) else []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = message_text(message.get("content"))
        if message["role"] == "assistant":
            text = text.split(f"\n\n{SOURCES}", 1)[0]
            paragraphs = [p for p in text.split("\n\n") if not p.startswith((SEARCHED_FOR, NOTE))]
            text = re.sub(rf"\*\*{MARKER.pattern}\*\*", r"[\1]", "\n\n".join(paragraphs))
            if text.endswith(" …"):
                text = text[:-2]
        messages.append({"role": str(message["role"]), "content": unescape_untrusted(text)})
    return messages
