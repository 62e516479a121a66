"""Answer step (default, no LLM): pick the sentences of the retrieved passages that answer the question.

Every candidate sentence is scored by how close it is to the question (dense similarity of the
sentence and of its passage) and how much of the question's wording it shares. The best one to
three sentences become the answer, each followed by its citation marker; their text *is* the
quote, so a citation can never claim more than the article says. When even the best sentence
scores under ``min_score`` the answer abstains, with no citation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda

from index.chunk import split_sentences
from index.embed import Embedder
from rag.types import Answer, Citation

MIN_SENTENCE_WORDS = 4  # headlines and fragments are context, not answers
ABSTAIN_MESSAGE = "The indexed articles do not answer this question."

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+)*")
_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    also according did does many much name named called say said one
    """.split()
)


def content_terms(text: str) -> dict[str, float]:
    """Question words that carry meaning, with weights: names and numbers count double."""
    terms: dict[str, float] = {}
    for token in _TOKEN.findall(text):
        lower = token.lower()
        if lower in _STOPWORDS:
            continue
        weight = 2.0 if token[0].isupper() or token[0].isdigit() else 1.0
        key = stem(lower)
        terms[key] = max(terms.get(key, 0.0), weight)
    return terms


def stem(word: str) -> str:
    """A crude, fast stem: the first five letters are enough to match most inflections."""
    return word[:5]


def lexical_overlap(terms: dict[str, float], sentence: str) -> float:
    """Weighted share of the question's content terms that the sentence contains (0 to 1)."""
    if not terms:
        return 0.0
    present = {stem(t.lower()) for t in _TOKEN.findall(sentence)}
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in present) / total


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with its span in the article and its score."""

    document: Document
    start: int
    end: int
    text: str
    score: float


@dataclass
class ExtractiveAnswerer:
    """Composes a cited answer from retrieved passages without a language model.

    Args:
        embedder: the same model as retrieval, to compare the question with each sentence.
        min_score: best-sentence score under which it abstains. Default: 0.40 (see README: calibration).
        max_sentences: sentences in an answer, 1 to 3. Default: 3.
        keep_ratio: a further sentence must score this share of the best one. Default: 0.9.
        weights: (sentence similarity, passage similarity, word overlap). Default: (0.5, 0.2, 0.3).
    """

    embedder: Embedder
    min_score: float = 0.40
    max_sentences: int = 3
    keep_ratio: float = 0.9
    weights: tuple[float, float, float] = (0.5, 0.2, 0.3)

    def candidates(self, question: str, documents: Sequence[Document]) -> list[Candidate]:
        """Every sentence of every passage, scored, best first; overlapping passages count once."""
        seen: set[tuple[str, int]] = set()
        spans: list[tuple[Document, int, int, str]] = []
        for doc in documents:
            base = int(doc.metadata.get("start", 0))
            key_id = str(doc.metadata.get("article_id", doc.id))
            title = str(doc.metadata.get("title", "")).strip()
            for span in split_sentences(doc.page_content):
                key = (key_id, base + span.start)
                text = doc.page_content[span.start : span.end]
                if key in seen or text == title or len(_TOKEN.findall(text)) < MIN_SENTENCE_WORDS:
                    continue
                seen.add(key)
                spans.append((doc, base + span.start, base + span.end, text))
        if not spans:
            return []
        terms = content_terms(question)
        query = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        sentence_vectors = self.embedder.encode([text for _, _, _, text in spans])
        dense = sentence_vectors @ query
        w_sentence, w_passage, w_words = self.weights
        scored = [
            Candidate(
                doc,
                start,
                end,
                text,
                float(
                    w_sentence * dense[i]
                    + w_passage * float(doc.metadata.get("score", 0.0))
                    + w_words * lexical_overlap(terms, text)
                ),
            )
            for i, (doc, start, end, text) in enumerate(spans)
        ]
        return sorted(scored, key=lambda c: c.score, reverse=True)

    def answer(self, question: str, documents: Sequence[Document]) -> Answer:
        """The cited answer, or an abstention when the evidence is too weak."""
        ranked = self.candidates(question, documents)
        if not ranked or ranked[0].score < self.min_score:
            return Answer(question=question, answer=ABSTAIN_MESSAGE, abstained=True)
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) >= self.max_sentences or candidate.score < self.keep_ratio * ranked[0].score:
                break
            chosen.append(candidate)
        return compose(question, chosen)

    def as_runnable(self) -> Runnable[dict[str, object], Answer]:
        """A LangChain runnable taking ``{"question": str, "documents": list[Document]}``."""

        def run(inputs: dict[str, object]) -> Answer:
            question = str(inputs["question"])
            documents = inputs["documents"]
            assert isinstance(documents, list)
            return self.answer(question, documents)

        return RunnableLambda(run, name="ExtractiveAnswerer")


def citation_for(n: int, candidate: Candidate) -> Citation:
    meta = candidate.document.metadata
    return Citation(
        n=n,
        article_id=str(meta.get("article_id", "")),
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        source=str(meta.get("source", "")),
        published=str(meta.get("published", "")),
        quote=candidate.text,
        start=candidate.start,
        end=candidate.end,
        score=round(candidate.score, 4),
    )


def compose(question: str, chosen: Sequence[Candidate]) -> Answer:
    """One sentence per candidate, each ending with its own marker, numbered in reading order."""
    citations = [citation_for(n, c) for n, c in enumerate(chosen, start=1)]
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question=question, answer=text, abstained=False, citations=citations)
