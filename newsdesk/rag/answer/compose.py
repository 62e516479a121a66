"""Composition: the lead that states the answer, then at most two supporting sentences, all cited.

* The lead is a short verbatim span (a name, a date, an amount, a clause) or "Yes."/"No.", followed
  by the markers of every citation whose quote carries it.
* A supporting sentence is quoted verbatim, once: when several articles carry the same sentence
  (wire copy), it is shown once and followed by one marker per article ("... [1][2]").
* Citations are numbered in reading order; each quote is ``field_text[start:end]`` and the short
  answer's place inside it is ``answer_span``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from newsdesk.rag.answer.candidates import Sentence, Span
from newsdesk.rag.types import Answer, AnswerSpan, Citation
from newsdesk.reading.words import stem, words


@dataclass
class Evidence:
    """A sentence to cite, with the short answer's span inside it (if it holds it)."""

    sentence: Sentence
    span: Span | None = None


@dataclass
class Statement:
    """One sentence of the answer: its text and what it cites."""

    text: str
    evidence: list[Evidence]


def _citation(n: int, ev: Evidence) -> Citation:
    s = ev.sentence
    meta = s.passage.doc.metadata
    answer_span = None
    if ev.span is not None:
        answer_span = AnswerSpan(ev.span.article_start, ev.span.article_end, ev.span.text)
    return Citation.of_chunk(
        n, meta, s.text, s.start, s.end, s.relevance, field=s.field, answer_span=answer_span
    )


def _ident(s: Sentence) -> tuple[str, str, int, int]:
    return (s.passage.article, s.field, s.start, s.end)


def sentence_text(text: str) -> str:
    """A lead phrase as a sentence: capitalised first letter kept as is, a full stop added if missing."""
    text = text.strip()
    if text and text[-1] not in '.!?"”’)':
        text += "."
    return text


def compose(
    question: str,
    statements: Sequence[Statement],
    short_answer: str,
    answer_type: str,
    confidence: float,
) -> Answer:
    """The answer text and its citations; a citation is made once per quoted span and reused."""
    numbers: dict[tuple[str, str, int, int], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    shown: set[str] = set()
    for statement in statements:
        key = statement.text.strip()
        if not statement.evidence or key in shown:
            continue
        shown.add(key)
        markers = []
        for ev in statement.evidence:
            ident = _ident(ev.sentence)
            if ident not in numbers:
                numbers[ident] = len(citations) + 1
                citations.append(_citation(numbers[ident], ev))
            elif ev.span is not None and citations[numbers[ident] - 1].answer_span is None:
                old = citations[numbers[ident] - 1]
                citations[numbers[ident] - 1] = _citation(old.n, ev)
            marker = f"[{numbers[ident]}]"
            if marker not in markers:
                markers.append(marker)
        parts.append(f"{key} {''.join(markers)}")
    return Answer(
        question=question,
        answer=" ".join(parts),
        abstained=False,
        citations=list(citations),
        short_answer=short_answer,
        answer_type=answer_type,
        confidence=confidence,
    )


def group_duplicates(sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    """Sentences with the same normalised text (the same wire sentence in several articles) together."""
    groups: dict[str, list[Sentence]] = {}
    for s in sentences:
        groups.setdefault(s.key, []).append(s)
    return list(groups.values())


# --------------------------------------------------------------------------- the lead

_CLAUSE_BREAK = re.compile(r"\s*(?:[;:—–]|,(?!\d{3}))\s+|\s+(?:—|–|--)\s+|\s+\((?=[^)]*\))|\)\s*")
MAX_LEAD_WORDS = 30
"""A lead sentence longer than this is cut to the clauses around the answer."""
MAX_UNTYPED_LEAD_WORDS = 60
"""Without a located answer span, a lead is cut only past this many words (the answer could be anywhere)."""
MIN_LEAD_WORDS = 8
"""A cut lead keeps at least this many words, so that it still reads as a statement."""


def clauses_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of a sentence, split at ``; : — ,`` and brackets."""
    bounds = [0]
    for m in _CLAUSE_BREAK.finditer(text):
        bounds += [m.start(), m.end()]
    bounds.append(len(text))
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2) if bounds[i + 1] > bounds[i]]


def _words_in(text: str) -> int:
    return len(text.split())


def lead_span(
    sentence: Sentence, span: Span | None, terms: dict[str, float], max_words: int = MAX_LEAD_WORDS
) -> tuple[int, int]:
    """The part of ``sentence`` to state as the lead: the whole sentence when it is short, else the
    clauses around ``span`` (or the clauses holding most question terms), ``MIN_LEAD_WORDS`` to
    ``MAX_LEAD_WORDS`` words, never cutting the span. Offsets are relative to the sentence."""
    text = sentence.text
    if _words_in(text) <= max_words:
        return 0, len(text)
    clauses = clauses_of(text)
    if len(clauses) <= 1:
        return 0, len(text)

    def weight(c: tuple[int, int]) -> float:
        piece = text[c[0] : c[1]]
        return sum(w for t, w in terms.items() if t in {stem(x) for x in words(piece)})

    if span is not None:
        core = [i for i, (a, b) in enumerate(clauses) if a < span.end and span.start < b]
        lo, hi = core[0], core[-1]
    else:
        best = max(range(len(clauses)), key=lambda i: weight(clauses[i]))
        lo = hi = best
    while True:
        start, end = clauses[lo][0], clauses[hi][1]
        size = _words_in(text[start:end])
        options = []
        if lo > 0 and _words_in(text[clauses[lo - 1][0] : end]) <= max_words:
            options.append((weight(clauses[lo - 1]), -1))
        if hi + 1 < len(clauses) and _words_in(text[start : clauses[hi + 1][1]]) <= max_words:
            options.append((weight(clauses[hi + 1]), 1))
        if not options:
            break
        gain, side = max(options)
        if size >= MIN_LEAD_WORDS and gain <= 0:
            break
        if side < 0:
            lo -= 1
        else:
            hi += 1
    start, end = clauses[lo][0], clauses[hi][1]
    piece = text[start:end]
    end = start + len(piece.rstrip(" ,;:—–-("))
    if span is not None:
        start, end = min(start, span.start), max(end, span.end)
    return start, end


def sub_sentence(sentence: Sentence, start: int, end: int) -> Sentence:
    """The part ``[start, end)`` (relative offsets) of a sentence, as a sentence of its own."""
    if (start, end) == (0, len(sentence.text)):
        return sentence
    return replace(
        sentence,
        start=sentence.start + start,
        end=sentence.start + end,
        text=sentence.text[start:end],
        key=sentence.key + f"@{start}:{end}",
    )
