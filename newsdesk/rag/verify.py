"""Verify step: the answer's markers and its citations must match one to one.

Markers that point at no citation are dropped, citations that no marker uses are dropped, and the
rest are renumbered in the order a reader meets them (as onyx's citation processor does).
``quote_matches`` checks a citation against the article text itself.
"""

from __future__ import annotations

import dataclasses
import re

from newsdesk.rag.types import Answer, Citation
from newsdesk.reading.markers import SPACED_MARKER, markers_in


def reconcile(answer: Answer) -> Answer:
    """Drop dangling markers and unused citations; renumber 1..n in reading order."""
    if answer.abstained:
        return dataclasses.replace(answer, citations=[])
    by_n = {c.n: c for c in answer.citations}
    order: dict[int, int] = {}
    for n in markers_in(answer.answer):
        if n in by_n and n not in order:
            order[n] = len(order) + 1

    def renumber(match: re.Match[str]) -> str:
        old = int(match.group(1))
        return f" [{order[old]}]" if old in order else ""

    text = SPACED_MARKER.sub(renumber, answer.answer).strip()
    citations = [dataclasses.replace(by_n[old], n=new) for old, new in order.items()]
    return dataclasses.replace(answer, answer=text, citations=citations)


def is_verbatim(text: str, start: object, end: object, quote: object) -> bool:
    """True when ``quote`` is exactly ``text[start:end]``, with integer offsets inside the text."""
    if not isinstance(start, int) or not isinstance(end, int):
        return False
    return 0 <= start <= end <= len(text) and text[start:end] == quote


def quote_matches(citation: Citation, article_text: str) -> bool:
    """True when the quote is exactly the article's text at the cited offsets."""
    return is_verbatim(article_text, citation.start, citation.end, citation.quote)
