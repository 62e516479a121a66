"""Support checks: does a passage say what a generated sentence (or short answer) claims?

Two signals, as the issue asks:

1. **Words** (always): every name and every number of the claim must be in the passage (numbers in
   the quoted span itself; words the claim puts in quotation marks must be the span's words
   verbatim), and its content words must be covered: ``coverage`` is the weighted
   share of the claim's content stems found in the span (names and numbers weigh double; words the
   question itself used count half when the span lacks them, so a paraphrase of the question is not
   punished for repeating it).
2. **Meaning** (when an embedder is given): cosine similarity of the claim and the span with the
   product's all-MiniLM-L6-v2 (any LangChain ``Embeddings``).

A span is one sentence of the passage or two adjacent ones; quotes are always exact
``article_text[start:end]`` (passage offset + local offset). Sentences that address an AI
("ignore your instructions ...") are never quoted and never support anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from newsdesk.rag.llm.prompt import INJECTION
from newsdesk.rag.llm.words import content_terms, entity_spans, read
from newsdesk.reading.lexicon import TITLE_WORDS
from newsdesk.reading.sentences import sentence_spans, starts_sentence
from newsdesk.reading.words import PHRASE_EDGE_STOPWORDS, TOKEN, stem
from newsdesk.reading.words import stems as stems_of

_NUMBER = re.compile(r"\d")
COVERAGE_ALONE = 0.75
"""A claim whose words the span covers this well is supported without the embedding signal."""
COVERAGE_WITH_MEANING = 0.5
"""... or this well, when the embedding similarity reaches ``MEANING``."""
MEANING = 0.6
QUESTION_RELEVANCE = 0.25
"""A short answer's sentence (with its neighbours) must hold this share of the question's words ..."""
QUESTION_MEANING = 0.35
"""... or be this similar to the question (with an embedder)."""
MAX_PHRASE_TOKENS = 12


@dataclass(frozen=True)
class Span:
    """Sentences ``[first, last]`` of a passage: local offsets ``start``/``end`` in its text."""

    first: int
    last: int
    start: int
    end: int


@dataclass
class Passage:
    """A retrieved passage as numbered in the prompt (``n`` from 1), split into sentences."""

    n: int
    document: Document
    sentences: list[tuple[int, int]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)

    @property
    def text(self) -> str:
        return self.document.page_content

    @property
    def base(self) -> int:
        """Offset of the passage in its article."""
        return int(self.document.metadata.get("start", 0) or 0)

    @cached_property
    def title_stems(self) -> set[str]:
        return stems_of(str(self.document.metadata.get("title", "")))

    @cached_property
    def stems(self) -> set[str]:
        """Stems of the quotable text (instruction-like sentences left out) and of the title."""
        quotable = " ".join(
            self.text[s:e] for i, (s, e) in enumerate(self.sentences) if i not in self.blocked
        )
        return stems_of(quotable) | self.title_stems

    def spans(self) -> list[Span]:
        """Every quotable sentence, and every pair of adjacent quotable sentences."""
        out = []
        for i, (s, e) in enumerate(self.sentences):
            if i in self.blocked:
                continue
            out.append(Span(i, i, s, e))
            if i + 1 < len(self.sentences) and i + 1 not in self.blocked:
                out.append(Span(i, i + 1, s, self.sentences[i + 1][1]))
        return out

    def quote(self, span: Span) -> str:
        return self.text[span.start : span.end]


def passages_of(documents: Sequence[Document]) -> list[Passage]:
    """The documents as numbered passages, with sentence spans and instruction-like sentences marked."""
    passages = []
    for n, doc in enumerate(documents, start=1):
        sentences = list(sentence_spans(doc.page_content))
        blocked = {i for i, (s, e) in enumerate(sentences) if INJECTION.search(doc.page_content[s:e])}
        passages.append(Passage(n, doc, sentences, blocked))
    return passages


_QUOTED = re.compile(r"[\"“”]([^\"“”]{3,300})[\"“”]")


@dataclass(frozen=True)
class Claim:
    """What a generated sentence asserts: weighted content stems, names, numbers and quoted words."""

    text: str
    terms: dict[str, float]
    names: frozenset[str]
    numbers: frozenset[str]
    quotes: tuple[str, ...] = ()


def _plain(text: str) -> str:
    return " ".join(TOKEN.findall(text.replace("’", "'"))).lower()


def claim_of(sentence: str) -> Claim:
    """Read a generated sentence (markers already removed)."""
    q = read(sentence)
    numbers = frozenset(stem(t) for t in TOKEN.findall(sentence) if _NUMBER.search(t))
    quotes = tuple(
        _plain(m.group(1)) for m in _QUOTED.finditer(sentence) if len(TOKEN.findall(m.group(1))) >= 2
    )
    return Claim(sentence, content_terms(sentence), q.names, numbers, quotes)


@dataclass(frozen=True)
class Support:
    """How well one span of one passage supports one claim."""

    passage: Passage
    span: Span
    coverage: float
    meaning: float | None
    names_ok: bool
    numbers_ok: bool

    @property
    def verified(self) -> bool:
        if not (self.names_ok and self.numbers_ok):
            return False
        if self.coverage >= COVERAGE_ALONE:
            return True
        return self.meaning is not None and self.coverage >= COVERAGE_WITH_MEANING and self.meaning >= MEANING

    @property
    def strength(self) -> float:
        """0 to 1: coverage, blended with the embedding similarity when there is one."""
        if not (self.names_ok and self.numbers_ok):
            return round(0.5 * self.coverage, 4)
        if self.meaning is None:
            return round(self.coverage, 4)
        return round(0.6 * self.coverage + 0.4 * max(0.0, self.meaning), 4)


class SupportChecker:
    """Scores claims against passages for one question; embeddings are computed once per text.

    Args:
        question: the (stand-alone) question; its words count half when a span lacks them.
        passages: the numbered passages.
        embedder: any LangChain ``Embeddings`` (the product's all-MiniLM-L6-v2); None: words only.
    """

    def __init__(
        self, question: str, passages: Sequence[Passage], embedder: Embeddings | None = None
    ) -> None:
        self.question = question
        self.passages = list(passages)
        self.embedder = embedder
        self.question_stems = stems_of(question)
        self._vectors: dict[str, list[float]] = {}

    # ----------------------------------------------------------------- embeddings

    def embed(self, texts: Sequence[str]) -> None:
        """Embed the texts not embedded yet, in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if self.embedder is None or not missing:
            return
        for text, vector in zip(missing, self.embedder.embed_documents(missing), strict=True):
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            self._vectors[text] = [x / norm for x in vector]

    def similarity(self, a: str, b: str) -> float | None:
        if self.embedder is None:
            return None
        self.embed([a, b])
        return sum(x * y for x, y in zip(self._vectors[a], self._vectors[b], strict=True))

    # ----------------------------------------------------------------- sentences

    def coverage(self, claim: Claim, span_stems: set[str]) -> float:
        total = sum(claim.terms.values())
        if not total:
            return 0.0
        got = 0.0
        for term, weight in claim.terms.items():
            if term in span_stems:
                got += weight
            elif term in self.question_stems:
                got += 0.5 * weight
        return got / total

    def best(self, claim: Claim, passage: Passage) -> Support | None:
        """The span of ``passage`` that best supports ``claim`` (None when nothing is quotable)."""
        spans = passage.spans()
        if not spans:
            return None
        names_ok = all(name in passage.stems for name in claim.names)
        scored = []
        for span in spans:
            span_stems = stems_of(passage.quote(span))
            # Numbers must be in the quoted span, and quoted words ("...") must be its words verbatim.
            numbers_ok = all(number in span_stems for number in claim.numbers) and all(
                quoted in _plain(passage.quote(span)) for quoted in claim.quotes
            )
            coverage = self.coverage(claim, span_stems | passage.title_stems)
            # Prefer one sentence over two unless the second adds coverage.
            scored.append((coverage - 0.02 * (span.last - span.first), span, numbers_ok, coverage))
        scored.sort(key=lambda item: item[0], reverse=True)
        top = scored[:3]
        if self.embedder is not None:
            self.embed([claim.text, *(passage.quote(s) for _, s, _, _ in top)])
        best: Support | None = None
        for _, span, numbers_ok, coverage in top:
            meaning = self.similarity(claim.text, passage.quote(span))
            support = Support(passage, span, coverage, meaning, names_ok, numbers_ok)
            if best is None or (support.verified, support.strength) > (best.verified, best.strength):
                best = support
        return best

    # ----------------------------------------------------------------- short answers

    def relevant(self, passage: Passage, sentence: int) -> bool:
        """Whether a sentence (with its neighbours) is about the question at all."""
        terms = content_terms(self.question)
        lo, hi = max(0, sentence - 1), min(len(passage.sentences) - 1, sentence + 1)
        window = passage.text[passage.sentences[lo][0] : passage.sentences[hi][1]]
        total = sum(terms.values())
        if total and sum(w for t, w in terms.items() if t in stems_of(window)) / total >= QUESTION_RELEVANCE:
            return True
        s, e = passage.sentences[sentence]
        meaning = self.similarity(self.question, passage.text[s:e])
        return meaning is not None and meaning >= QUESTION_MEANING

    def short_answer(self, reply: str) -> ShortAnswer | None:
        """Accept a model's short answer only where it matches a span of a passage; else None.

        The reply's *new* words (not in the question, not stop words) must occur as a contiguous run
        of one passage sentence; every number of the reply must be in that sentence and every name in
        that passage (a fabricated "Su-57M" or "$19,000" rejects the reply); the sentence must be about the
        question; for who/when/how-many questions the phrase must hold a name/date/number. The
        answer phrase is the passage's own text for the run, widened to whole names.
        """
        words = [m.group() for m in TOKEN.finditer(reply)]
        stems = [stem(w) for w in words]
        novel = [
            w.lower() not in PHRASE_EDGE_STOPWORDS and s not in self.question_stems
            for w, s in zip(words, stems, strict=True)
        ]
        if not any(novel):
            return None
        new_words = [(w, s) for w, s, new in zip(words, stems, novel, strict=True) if new]
        names = {s for w, s in new_words if w[0].isupper()}
        numbers = {s for w, s in new_words if _NUMBER.search(w)}
        kinds = read(self.question).entity_kinds
        question_terms = content_terms(self.question)
        best: tuple[tuple[float, ...], ShortAnswer] | None = None
        for passage in self.passages:
            if not names <= passage.stems:
                continue
            for index, (s0, e0) in enumerate(passage.sentences):
                if index in passage.blocked:
                    continue
                sentence = passage.text[s0:e0]
                tokens = [(m.start() + s0, m.end() + s0, stem(m.group())) for m in TOKEN.finditer(sentence)]
                sentence_stems = {t[2] for t in tokens}
                if not numbers <= sentence_stems:
                    continue
                for i, j, length in _common_runs(stems, [t[2] for t in tokens]):
                    novel_count = sum(novel[i : i + length])
                    if not novel_count:
                        continue
                    named = sum(
                        1
                        for w, new in zip(words[i : i + length], novel[i : i + length], strict=True)
                        if new and (w[0].isupper() or _NUMBER.search(w)) and w.lower() not in TITLE_WORDS
                    )
                    found = self._phrase(passage, tokens[j : j + length], kinds)
                    if found is None or not self.relevant(passage, index):
                        continue
                    start, end = found
                    on_topic = _overlap(question_terms, sentence_stems)
                    words_in_phrase = float(len(passage.text[start:end].split()))
                    rank = (float(named), float(novel_count), on_topic, words_in_phrase, -passage.n, -index)
                    if best is None or rank > best[0]:
                        share = novel_count / sum(novel)
                        best = (rank, ShortAnswer(passage, index, start, end, passage.text[start:end], share))
        return best[1] if best else None

    def _phrase(
        self, passage: Passage, run: list[tuple[int, int, str]], kinds: tuple[str, ...]
    ) -> tuple[int, int] | None:
        """The answer phrase within a matched run: edges trimmed, whole names, the asked kind."""
        text = passage.text
        keep = [t for t in run]
        while keep and (
            text[keep[0][0] : keep[0][1]].lower() in PHRASE_EDGE_STOPWORDS
            or keep[0][2] in self.question_stems
        ):
            keep.pop(0)
        while keep and (
            text[keep[-1][0] : keep[-1][1]].lower() in PHRASE_EDGE_STOPWORDS
            or keep[-1][2] in self.question_stems
        ):
            keep.pop()
        if len(keep) > MAX_PHRASE_TOKENS:
            keep = self._name_group(text, keep)
        if not keep:
            return None
        start, end = _widen_name(text, keep[0][0], keep[-1][1])
        if kinds:
            phrase = text[start:end]
            if not any(entity_spans(kind, phrase) for kind in kinds):
                return None
        return start, end

    def _name_group(self, text: str, run: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """In a long run, the run of capitalised or numeric words ("and"/"of" inside) with most new words."""
        groups: list[list[tuple[int, int, str]]] = []
        current: list[tuple[int, int, str]] = []
        for token in run:
            word = text[token[0] : token[1]]
            if word[:1].isupper() or _NUMBER.search(word) or (current and word in {"and", "of", "de"}):
                current.append(token)
                continue
            if current:
                groups.append(current)
            current = []
        if current:
            groups.append(current)
        for group in groups:
            while group and not (
                text[group[-1][0] : group[-1][1]][:1].isupper() or _NUMBER.search(group[-1][2])
            ):
                group.pop()
        scored = [(sum(t[2] not in self.question_stems for t in g), -i, g) for i, g in enumerate(groups) if g]
        scored = [item for item in scored if item[0] and len(item[2]) <= MAX_PHRASE_TOKENS]
        return max(scored)[2] if scored else []


@dataclass(frozen=True)
class ShortAnswer:
    """An accepted short answer: the phrase ``text[start:end]`` of sentence ``sentence`` of ``passage``."""

    passage: Passage
    sentence: int
    start: int
    end: int
    text: str
    share: float
    """Share of the reply's new words the phrase accounts for (how strongly the reply matched)."""


def _overlap(terms: dict[str, float], stems: set[str]) -> float:
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in stems) / total if total else 0.0


def _common_runs(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int]]:
    """Maximal runs ``a[i:i+n] == b[j:j+n]`` as (i, j, n), longest first."""
    runs = []
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            if a[i] == b[j]:
                lengths[i][j] = lengths[i + 1][j + 1] + 1
    for i in range(len(a)):
        for j in range(len(b)):
            n = lengths[i][j]
            if n and not (i and j and a[i - 1] == b[j - 1]):
                runs.append((i, j, n))
    return sorted(runs, key=lambda r: r[2], reverse=True)


def _widen_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow ``text[start:end]`` leftwards to a whole name ("Shoigu" -> "Sergei Shoigu"), never over a title.

    Never rightwards: "Foreign Minister" must not grow into another person's "Foreign Minister Wang Yi".
    """
    if not text[start:end][:1].isupper():
        return start, end
    while True:
        before = re.search(r"([A-Z][A-Za-z0-9'’.-]*)\s$", text[max(0, start - 40) : start])
        if (
            not before
            or before.group(1).lower() in PHRASE_EDGE_STOPWORDS
            or before.group(1).lower().rstrip(".") in TITLE_WORDS
            or starts_sentence(text, start - len(before.group(0)))
        ):
            break
        start -= len(before.group(0))
    return start, end
