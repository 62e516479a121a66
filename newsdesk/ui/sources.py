"""The sources panel beside the chat: each citation's headline, outlet, date, link, its quote
highlighted inside the surrounding passage (the short answer marked more strongly), the other
outlets that ran the story, and the whole article with the quote highlighted.

Every piece of article text is HTML-escaped here, once, and nothing else builds the panel's HTML:
article text is untrusted and must neither run nor make the browser fetch anything. A link is shown
only when the article's own ``url`` is a plain http(s) address (a file-indexed article's link is a
path on the server, which nothing would open).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from newsdesk.rag.types import Citation
from newsdesk.ui.library import MAX_SHOWN_CHARS, ArticleText

CONTEXT_CHARS = 280
"""Characters of the article shown on either side of a quote (cut at a word boundary)."""

_SAFE_URL = re.compile(r"^https?://[^\s<>()\"'`\\]+$")

EMPTY_PANEL = (
    '<div class="nd-panel-empty">Sources appear here: ask a question, then click a marker '
    "<b>[n]</b> in the answer to bring its source into view.</div>"
)

PANEL_CSS = """
#newsdesk-main { flex-wrap: nowrap; align-items: flex-start; }
#newsdesk-panel { max-height: 640px; overflow-y: auto; }
@media (max-width: 768px) {
  #newsdesk-main { flex-direction: column !important; flex-wrap: wrap; }
  #newsdesk-main > * { width: 100% !important; min-width: 0 !important; }
  #newsdesk-panel { max-height: none; }
}
.nd-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 10px; scroll-margin-top: 8px; }
.nd-source.nd-active { outline: 3px solid var(--color-accent); }
.nd-source h4 { margin: 0 0 4px 0; font-size: 0.95em; }
.nd-meta, .nd-also { font-size: 0.85em; opacity: 0.85; }
.nd-passage { margin: 6px 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.9em; white-space: pre-wrap; }
mark.nd-quote { background: rgba(250, 204, 21, 0.35); color: inherit; padding: 0 1px; }
mark.nd-answer { background: rgba(234, 88, 12, 0.55); color: inherit; font-weight: 700; }
.nd-whole summary { cursor: pointer; font-size: 0.85em; }
.nd-article { white-space: pre-wrap; font-size: 0.9em; max-height: 420px; overflow-y: auto; }
#newsdesk-chat strong.nd-marker { cursor: pointer; text-decoration: underline dotted; }
"""

MARKER_SCRIPT = """
<script>
(() => {
  const markerOf = (el) => {
    const strong = el.closest && el.closest('#newsdesk-chat strong');
    const m = strong && /^\\[(\\d+)\\]$/.exec(strong.textContent.trim());
    return m ? Number(m[1]) : null;
  };
  const show = (n) => {
    const card = document.getElementById('nd-source-' + n);
    if (!card) return false;
    document.querySelectorAll('.nd-source.nd-active').forEach((c) => c.classList.remove('nd-active'));
    card.classList.add('nd-active');
    card.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    return true;
  };
  document.addEventListener('click', (event) => {
    const n = markerOf(event.target);
    if (n !== null) show(n);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    const n = markerOf(event.target);
    if (n !== null) show(n);
  });
  new MutationObserver(() => {
    document.querySelectorAll('#newsdesk-chat strong').forEach((s) => {
      if (/^\\[\\d+\\]$/.test(s.textContent.trim()) && !s.classList.contains('nd-marker')) {
        s.classList.add('nd-marker');
        s.setAttribute('tabindex', '0');
        s.setAttribute('role', 'button');
        s.setAttribute('title', 'Show this source');
      }
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
</script>
"""
"""Clicking (or Enter on) a marker ``[n]`` in an answer brings source n into view in the panel."""


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def highlighted(text: str, start: int, end: int, span: tuple[int, int] | None) -> str:
    """``text[start:end]`` in a quote mark, the short answer ``span`` (same offsets) inside it in a
    stronger one; all of it escaped."""
    if span is None or not (start <= span[0] < span[1] <= end):
        return f'<mark class="nd-quote">{esc(text[start:end])}</mark>'
    return (
        f'<mark class="nd-quote">{esc(text[start : span[0]])}'
        f'<mark class="nd-answer">{esc(text[span[0] : span[1]])}</mark>'
        f"{esc(text[span[1] : end])}</mark>"
    )


def context_bounds(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> tuple[int, int]:
    """Where the passage around ``start:end`` begins and ends: ``width`` characters either side,
    moved out to the nearest white space so no word is cut."""
    left = max(0, start - width)
    if left > 0:
        space = text.rfind(" ", 0, left)
        left = space + 1 if space >= 0 else 0
    right = min(len(text), end + width)
    if right < len(text):
        space = text.find(" ", right)
        right = space if space >= 0 else len(text)
    return left, right


def passage_html(text: str, citation: Citation) -> str:
    """The quote inside its surrounding passage; the quote alone when ``text`` no longer holds it."""
    span = (citation.answer_span.start, citation.answer_span.end) if citation.answer_span else None
    start, end = citation.start, citation.end
    if text[start:end] != citation.quote:
        quote = citation.quote
        shifted = (span[0] - start, span[1] - start) if span else None
        return highlighted(quote, 0, len(quote), shifted)
    left, right = context_bounds(text, start, end)
    before = ("… " if left > 0 else "") + esc(text[left:start])
    after = esc(text[end:right]) + (" …" if right < len(text) else "")
    return before + highlighted(text, start, end, span) + after


def whole_article_html(article: ArticleText, citation: Citation) -> str:
    """The whole article (headline, then body) with the cited quote highlighted where it stands."""
    span = (citation.answer_span.start, citation.answer_span.end) if citation.answer_span else None
    title, body = article.title, article.text[:MAX_SHOWN_CHARS]
    cut = (
        '<p class="nd-meta">(the article is longer; the rest is not shown)</p>'
        if len(article.text) > len(body)
        else ""
    )
    if citation.field == "title" and title[citation.start : citation.end] == citation.quote:
        heading = highlighted(title, citation.start, citation.end, span)
        text = esc(body)
    else:
        # A .txt or .md article's body begins with its headline: not shown twice.
        heading = "" if body.lstrip().startswith(title) else esc(title)
        located = citation.end <= len(body) and body[citation.start : citation.end] == citation.quote
        text = (
            esc(body[: citation.start])
            + highlighted(body, citation.start, citation.end, span)
            + esc(body[citation.end :])
            if located
            else esc(body)
        )
    heading = f"<b>{heading}</b>\n\n" if heading else ""
    return f'<div class="nd-article">{heading}{text}</div>{cut}'


def citation_html(citation: Citation, article: ArticleText | None) -> str:
    """One source card."""
    n = citation.n
    title = esc(citation.title or citation.article_id)
    meta = [esc(part) for part in (citation.source, citation.published) if part]
    if _SAFE_URL.match(citation.url):
        meta.append(
            f'<a href="{esc(citation.url)}" target="_blank" rel="noopener noreferrer nofollow">link</a>'
        )
    text = article.field_text(citation.field) if article is not None else ""
    parts = [
        f'<div class="nd-source" id="nd-source-{n}" data-n="{n}">',
        f'<h4><span class="nd-n">[{n}]</span> {title}</h4>',
        f'<div class="nd-meta">{" · ".join(meta)}</div>' if meta else "",
        f'<div class="nd-passage">{passage_html(text, citation)}</div>',
    ]
    if citation.also_in:
        others = ", ".join(
            esc(" ".join(p for p in (o.get("source") or o.get("url", ""), o.get("published", "")) if p))
            for o in citation.also_in
        )
        parts.append(f'<div class="nd-also">Also reported by: {others}</div>')
    if article is not None:
        whole = whole_article_html(article, citation)
        parts.append(f'<details class="nd-whole"><summary>Whole article</summary>{whole}</details>')
    parts.append("</div>")
    return "".join(parts)


def panel_html(citations: list[Citation], article_of: Callable[[str], ArticleText | None]) -> str:
    """The sources panel for one answer (``article_of`` reads an article by id, None when gone)."""
    if not citations:
        return EMPTY_PANEL
    articles: dict[str, ArticleText | None] = {}
    cards = []
    for citation in citations:
        if citation.article_id not in articles:
            articles[citation.article_id] = article_of(citation.article_id)
        cards.append(citation_html(citation, articles[citation.article_id]))
    return '<div class="nd-panel">' + "".join(cards) + "</div>"
