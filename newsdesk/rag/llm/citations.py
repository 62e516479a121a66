"""Citation processor for generated text: markers checked, sentences verified, quotes verbatim.

``process`` turns a model's reply into an ``Answer`` whose every sentence ends with a marker:

1. Reasoning blocks (``<think>``) and answer labels are removed; markers are read in every common
   form (``[1]``, ``[1, 3]``, ``[1][1][3]``, ``【1】``); a marker pointing at no passage is dropped.
2. The reply is split into sentences; markers right after a sentence's full stop belong to it.
3. Each sentence is checked against the passage(s) it cites (``newsdesk.rag.llm.support``): names and
   numbers must be there, content words covered, the embedding close. The best supporting span of
   the passage becomes the citation's verbatim quote (exact article offsets). A sentence that its
   cited passage does not support but another passage does is re-cited to that one
   (``verified_by="moved"``); a sentence with no marker gets the passage that supports it.
4. ``strict`` drops unsupported sentences; ``mark`` keeps them with ``verified=False``.
5. Citations are numbered 1..n in reading order; sentences citing the same span share a number.

``short_answer`` builds the answer for the short style instead: an accepted short answer, then the
passage sentence that holds it, both citing that sentence.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from newsdesk.rag.llm.prompt import CONTROL_TOKEN
from newsdesk.rag.llm.support import Passage, ShortAnswer, Span, Support, SupportChecker, claim_of
from newsdesk.rag.types import AnswerSpan, Citation
from newsdesk.reading.markers import LEFTOVER_BRACKETS, MODEL_MARKERS, marker_numbers, markers_before_stops
from newsdesk.reading.sentences import sentence_spans

Mode = Literal["strict", "mark"]

_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_LABEL = re.compile(r"^\s*(?:final\s+)?answer\s*:\s*", re.I)
_SPACE = re.compile(r"\s+")


@dataclass
class Sentence:
    """A generated sentence without its markers, and the passage numbers it cited (valid ones, in order)."""

    text: str
    cited: list[int] = field(default_factory=list)


@dataclass
class Processed:
    """The processor's result: the answer text, its citations, and what happened to each sentence."""

    text: str
    citations: list[Citation]
    kept: int = 0
    dropped: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    moved: int = 0
    short_answer: str = ""
    """The short style's accepted phrase (the answer's lead), else empty."""

    @property
    def empty(self) -> bool:
        return not self.text


def clean_reply(text: str) -> str:
    """The reply without reasoning blocks, echoed fence tags or control tokens, or an ``Answer:``
    label, white space collapsed."""
    text = CONTROL_TOKEN.sub(" ", _THINK.sub(" ", text))
    return _SPACE.sub(" ", _LABEL.sub("", text.strip())).strip()


def split_claims(text: str, n_passages: int) -> list[Sentence]:
    """Sentences of a reply with the valid passage numbers each one cites.

    Markers are moved to the sentence they close: ``Paris. [1] It is big [2].`` gives ("Paris.", [1])
    and ("It is big.", [2]). Numbers outside 1..``n_passages`` are dropped; repeats count once.
    """
    text = clean_reply(text)
    # Put every marker group before the punctuation it follows, so it stays with its sentence.
    text = markers_before_stops(text)
    sentences: list[Sentence] = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        cited: list[int] = []
        for group in MODEL_MARKERS.finditer(piece):
            for n in marker_numbers(group.group(1)):
                if 1 <= n <= n_passages and n not in cited:
                    cited.append(n)
        bare = LEFTOVER_BRACKETS.sub("", MODEL_MARKERS.sub("", piece))
        bare = _SPACE.sub(" ", bare).strip()
        bare = re.sub(r"\s+([.!?,;:])", r"\1", bare)
        if len(re.findall(r"[A-Za-z0-9]", bare)) < 2:
            if sentences and cited:  # a stray marker group on its own: it belongs to the sentence before
                sentences[-1].cited += [n for n in cited if n not in sentences[-1].cited]
            continue
        if bare[-1] not in ".!?":
            bare += "."
        sentences.append(Sentence(bare, cited))
    return sentences


class CitationBook:
    """Citations numbered in the order a reader meets them; one number per passage span."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[int, int, int], int] = {}

    def cite(self, passage: Passage, span: Span, verified: bool, support: float, verified_by: str) -> int:
        key = (passage.n, span.start, span.end)
        if key in self._numbers:
            number = self._numbers[key]
            old = self.citations[number - 1]
            if old.verified and not verified:  # a span cited by a supported and an unsupported sentence
                self.citations[number - 1] = dataclasses.replace(
                    old, verified=False, support=min(support, old.support or 0)
                )
            return number
        number = len(self.citations) + 1
        self._numbers[key] = number
        self.citations.append(citation(number, passage, span, verified, support, verified_by))
        return number


def citation(
    n: int,
    passage: Passage,
    span: Span,
    verified: bool,
    support: float,
    by: str,
    answer_span: AnswerSpan | None = None,
) -> Citation:
    """The citation of ``span`` of ``passage``: the quote is the article's text at those offsets."""
    meta = passage.document.metadata
    return Citation.of_chunk(
        n,
        meta,
        passage.quote(span),
        passage.base + span.start,
        passage.base + span.end,
        float(meta.get("score", 0.0) or 0.0),
        answer_span=answer_span,
        verified=verified,
        support=round(support, 4),
        verified_by=by,
    )


def _judge(
    checker: SupportChecker, sentence: Sentence, passages: Sequence[Passage]
) -> tuple[list[Support], str]:
    """The supports that back a sentence, and how: its own citations, others, or none (best effort)."""
    claim = claim_of(sentence.text)
    by_n = {p.n: p for p in passages}
    own = [s for s in (checker.best(claim, by_n[n]) for n in sentence.cited) if s is not None]
    good = [s for s in own if s.verified]
    if good:
        return good, "sentence"
    others = [
        s for s in (checker.best(claim, p) for p in passages if p.n not in sentence.cited) if s is not None
    ]
    moved = sorted((s for s in others if s.verified), key=lambda s: s.strength, reverse=True)
    if moved:
        return moved[:1], "moved" if sentence.cited else "sentence"
    candidates = sorted(own or others, key=lambda s: s.strength, reverse=True)
    return candidates[:1], "unsupported"


def process(
    reply: str,
    passages: Sequence[Passage],
    checker: SupportChecker,
    mode: Mode = "strict",
    max_sentences: int = 5,
) -> Processed:
    """The checked, renumbered answer text and its citations (empty text when nothing survives)."""
    book = CitationBook()
    parts: list[str] = []
    result = Processed("", [])
    for sentence in split_claims(reply, len(passages))[:max_sentences]:
        supports, how = _judge(checker, sentence, passages)
        if how == "unsupported":
            if mode == "strict" or not supports:
                result.dropped.append(sentence.text)
                continue
            result.flagged.append(sentence.text)
        if how == "moved":
            result.moved += 1
        verified = how != "unsupported"
        numbers = [
            book.cite(s.passage, s.span, verified, s.strength, "unverified" if not verified else how)
            for s in supports
        ]
        parts.append(sentence.text + "".join(f" [{n}]" for n in dict.fromkeys(numbers)))
        result.kept += verified
    result.text = " ".join(parts)
    result.citations = book.citations
    return result


def short_answer(found: ShortAnswer) -> Processed:
    """The short style's answer: the phrase as a lead sentence, then its passage sentence, one citation.

    ``The Su-57. [1] In addition to the talks, ... the Su-57, will be showcased. [1]`` (markers follow
    the full stop, as in the extractive answers). The citation's quote is the sentence, which holds
    the phrase verbatim.
    """
    passage = found.passage
    start, end = passage.sentences[found.sentence]
    span = Span(found.sentence, found.sentence, start, end)
    book = CitationBook()
    n = book.cite(passage, span, True, found.share, "span")
    phrase = found.text.rstrip(" .,;:")
    where = AnswerSpan(passage.base + found.start, passage.base + found.start + len(phrase), phrase)
    book.citations[n - 1] = dataclasses.replace(book.citations[n - 1], answer_span=where)
    lead = phrase[:1].upper() + phrase[1:]
    sentence = passage.quote(span).rstrip()
    if sentence[-1] not in ".!?":
        sentence += "."
    text = (
        f"{sentence} [{n}]"
        if lead.rstrip(".") == sentence.rstrip(".!?")
        else f"{lead}. [{n}] {sentence} [{n}]"
    )
    return Processed(text, book.citations, kept=1, short_answer=lead)
