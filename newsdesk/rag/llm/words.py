"""How the generated path's checks read a question and its entities, as the extractive answerer does.

The support checks (``support``) and the follow-up rewriter (``followup``) compare a model's words
with a passage's words: tokens, stems and stopwords come from ``newsdesk.reading.words``, and what a
question asks for (its names, the kinds of entity that answer it, yes/no) from the answer step's
question reading, so both paths read a question alike. The generated path calls the answerer itself
only through ``answer(question, documents)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdesk.rag.answer.candidates import name_spans, typed_spans
from newsdesk.rag.answer.question import analyse, content_terms, is_yes_no

__all__ = ["Reading", "content_terms", "entity_spans", "is_yes_no", "read"]

# The answer step's span kinds that count as each kind of entity the checks ask for.
_SPAN_KINDS: dict[str, frozenset[str]] = {
    "year": frozenset({"year"}),
    "date": frozenset({"date", "year", "vague_date"}),
    "number": frozenset({"count", "quantity", "money", "percent", "duration", "year"}),
    "money": frozenset({"money"}),
    "percent": frozenset({"percent"}),
    "duration": frozenset({"duration"}),
}
# What each question type wants, as entity kinds of ``entity_spans``.
_ANSWER_KINDS: dict[str, tuple[str, ...]] = {
    "person": ("name",),
    "org": ("name",),
    "place": ("name",),
    "name": ("name",),
    "facility": ("name",),
    "work": ("name",),
    "product": ("name",),
    "event": ("name",),
    "law": ("name",),
    "language": ("name",),
    "group": ("name",),
    "date": ("date",),
    "count": ("number",),
    "quantity": ("number",),
    "money": ("money", "number", "percent"),
    "percent": ("percent", "number"),
    "duration": ("duration", "number", "date"),
}


def entity_spans(kind: str, text: str) -> list[tuple[int, int]]:
    """Where entities of ``kind`` (``name``, ``year``, ``date``, ``number``, ``money``, ``percent``,
    ``duration``) occur in ``text``, as the answer step finds them."""
    if kind == "name":
        return [(s, e) for s, e, _ in name_spans(text)]
    wanted = _SPAN_KINDS[kind]
    return [(s, e) for s, e, found in typed_spans(text) if found in wanted]


@dataclass(frozen=True)
class Reading:
    """What the checks need to know about a question or a sentence: its names and the asked kinds."""

    names: frozenset[str]
    entity_kinds: tuple[str, ...]
    yes_no: bool


def read(text: str) -> Reading:
    """The stems of the names of ``text``, the entity kinds that would answer it, and whether it is a
    yes/no question (the answer step's question reading)."""
    q = analyse(text)
    kinds = ("year",) if q.wants_year else _ANSWER_KINDS.get(q.answer_type, ())
    return Reading(q.names, kinds, q.answer_type in ("yesno", "choice"))
