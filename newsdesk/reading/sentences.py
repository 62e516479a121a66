"""Sentence boundaries, with exact character offsets, for chunks, answers and the support checks.

``sentence_spans`` is the one splitter: lines first (headings, paragraphs), then blingfire's sentences
within a line. Chunks are cut at its boundaries, the language model's support checks quote its
sentences, and instruction-like sentences are hidden from prompts by them. ``reading_sentences`` is the
same, split further where blingfire missed a boundary: the sentences the extractive reader quotes
(finer than the chunks' on purpose, so re-cutting them never changes the index).
"""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")
# "... the Purus Arch. Water on the ..." (a lower-case word, a full stop, a space, a capital) that
# blingfire missed; abbreviations such as "U.S. Navy" or "Dr. Smith" do not match.
_MISSED_BOUNDARY = re.compile(
    r"(?<=[a-z0-9)\"”’][a-z0-9)\"”’])(?<!\bvs)(?<!\bca)(?<!\bcf)(?<!\bapprox)(?<!\bNo)[.!?]\s+(?=[A-Z][a-z])"
)


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of ``text``: lines first, then blingfire's sentences in a line.

    Spans are trimmed of surrounding white space, so each starts and ends on a visible character, and
    ``text[start:end]`` is always the sentence itself. Not cached: the indexer splits whole articles
    once each (``reading_sentences``, which the reader calls again and again on passages, is).
    """
    import blingfire

    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        line_text = line.group()
        if not line_text.strip():
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(line_text)
        for start, end in offsets or [(0, len(line_text))]:
            piece = line_text[start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            left = line.start() + start + (len(piece) - len(piece.lstrip()))
            spans.append((left, left + len(stripped)))
    return tuple(spans)


def starts_sentence(text: str, position: int, *, after_colon: bool = False) -> bool:
    """Whether ``position`` opens a sentence of ``text``: only white space stands between it and the
    start, a line break, or a full stop, question or exclamation mark (or a colon, with
    ``after_colon``: "Update: Shoigu arrives" opens with "Shoigu")."""
    before = text[:position].rstrip()
    return not before or before[-1] in (".!?:\n" if after_colon else ".!?\n")


@lru_cache(maxsize=8192)
def reading_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """``sentence_spans`` of ``text``, split further at boundaries blingfire missed (a lower-case
    word, a full stop, a space, a capital: "the Purus Arch. Water ...")."""
    spans: list[tuple[int, int]] = []
    for left, right in sentence_spans(text):
        for m in _MISSED_BOUNDARY.finditer(text, left, right):
            spans.append((left, m.start() + 1))
            left = m.end()
        spans.append((left, right))
    return tuple(spans)
