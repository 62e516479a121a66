"""How an answer is shown in the chat: article text made inert, our own markers and sources kept.

Article text is untrusted: everything taken from an article is escaped for HTML *and* Markdown
before the chat renders it, so it can neither run as script nor pull an image from elsewhere.
"""

from __future__ import annotations

import html
import re

from newsdesk.rag.types import Answer

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$=:^])")
_SAFE_URL = re.compile(r"^https?://[^\s<>()\"'`\\]+$")


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
