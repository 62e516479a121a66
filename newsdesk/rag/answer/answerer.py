"""The reader: (question, retrieved documents) -> a cited answer whose first sentence states the answer.

Steps (each in its own module):

1. ``question.analyse``: terms, answer type (Li & Roth-style), outlets/days named.
2. ``candidates``: sentences of the passages and their headlines (offsets exact, headings and
   datelines skipped), typed spans in them (regular expressions; spaCy NER was measured and left out: see
   ``candidates``).
3. ``spans``: sentence and span scores, votes across articles (a question combining several facts
   takes the answer the articles agree on; a one-fact question the best span of its best sentences).
4. ``yesno``: yes/no questions are decided by checking each claim against the articles it names.
5. ``abstain``: a calibrated logistic model (weights in ``data/reader.json``) estimates the chance
   that the evidence answers the question; under ``min_confidence`` the reader abstains.
6. ``compose``: lead, then at most two supporting sentences, each cited; no sentence twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda

from newsdesk.rag.answer import abstain, rank, yesno
from newsdesk.rag.answer.candidates import (
    Sentence,
    Span,
    capitalised_inside,
    may_state,
    passages_of,
    sentences_of,
    spans_of,
)
from newsdesk.rag.answer.compose import (
    MAX_LEAD_WORDS,
    MAX_UNTYPED_LEAD_WORDS,
    Evidence,
    Statement,
    compose,
    lead_span,
    sub_sentence,
)
from newsdesk.rag.answer.model import ReaderModel
from newsdesk.rag.answer.question import NAME_TYPES, Question, analyse
from newsdesk.rag.answer.reading import Reading
from newsdesk.rag.answer.spans import (
    STRONG_FIT,
    Group,
    carry_context,
    framed_lead,
    novelty,
    score_sentences,
    score_spans,
    type_fit,
    vote,
)
from newsdesk.rag.types import Answer

ABSTAIN_MESSAGE = "The indexed articles do not answer this question."
MAX_ANSWER_WORDS = 40
"""Supporting sentences are added only while the whole answer stays within this many words."""
COMPOUND_TERMS = 12
"""A question with this many content words combines several facts (as multi-article questions do): its
typed answer is the one the articles agree on (votes); a shorter question's answer sits in its best
sentence."""
SUPPORT_SHARE = 0.5
"""A supporting sentence scores at least this share of the best sentence's relevance."""
SPAN_SLACK = 1.0
"""A one-fact question's answer span may come from a sentence whose log-odds of holding the answer are
up to this much below the best sentence's (1.0: odds about 2.7 times lower)."""


def _logit(p: float) -> float:
    """Log-odds, clipped to [-4, 3]: two sentences both over 95% likely are equally good."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return min(3.0, max(-4.0, math.log(p / (1 - p))))


def _overlaps(a: Sentence, b: Sentence) -> bool:
    return (
        a.passage.article == b.passage.article and a.field == b.field and a.start < b.end and b.start < a.end
    )


@dataclass
class ExtractiveAnswerer:
    """The default answerer: reads the answer out of the retrieved passages, no language model.

    Args:
        model: the abstention model (``abstain.AbstainModel``); default: ``data/abstain.json``.
        min_confidence: estimated chance that the evidence answers, under which the reader abstains.
            Default: the model file's ``threshold``.
        max_support: supporting sentences after the lead (0 to 2). Default: 2.
    """

    model: ReaderModel = field(default_factory=ReaderModel.load)
    min_confidence: float | None = None
    max_support: int = 2
    span_slack: float = SPAN_SLACK

    @classmethod
    def load(cls, model_path: Path | None = None, **kwargs: object) -> ExtractiveAnswerer:
        return cls(model=ReaderModel.load(model_path), **kwargs)  # type: ignore[arg-type]

    @property
    def threshold(self) -> float:
        return self.model.threshold if self.min_confidence is None else self.min_confidence

    # ----------------------------------------------------------------- reading

    def read(self, question: str, documents: Sequence[Document]) -> Reading:
        q = analyse(question)
        passages = passages_of(q, documents)
        sentences = sentences_of(passages)
        reading = Reading(q, passages, sentences)
        if not sentences:
            reading.probability = 0.0
            return reading
        typed: dict[int, bool] = {}
        names_seen: set[str] = set()
        kinds = "names" if q.answer_type in NAME_TYPES else "numbers"
        if q.typed:
            if kinds == "names":
                names_seen = capitalised_inside([p.doc.page_content for p in passages])
            for s in sentences:
                s.spans = spans_of(s, names_seen, kinds)
                typed[id(s)] = any(type_fit(q, sp.kind) >= 0.75 and novelty(sp, q) > 0 for sp in s.spans)
        reading.rarity = score_sentences(q, sentences, self.model.sentence_weights, typed)
        for s in sentences:
            if s.furniture:  # read for context, never quoted
                s.relevance = 0.0
                s.spans = []
        carry_context(q, sentences)
        reading.ranked = sorted(sentences, key=lambda s: s.relevance, reverse=True)
        if q.answer_type == "yesno":
            reading.verdict = yesno.decide(q, passages, sentences, self.model.support_threshold)
        elif q.answer_type == "choice":
            reading.choice = yesno.choose(q, passages, sentences)
        elif q.typed:
            spans: list[Span] = []
            for s in sentences:
                spans += s.spans
            reading.groups = vote(score_spans(q, spans, reading.rarity))
        reading.features = abstain.features(reading)
        reading.probability = self.model.probability(reading.features)
        if abstain.asked_missing(reading):
            reading.probability = 0.0
        elif q.answer_type in NAME_TYPES and q.focus_kind and not abstain.states_asked_kind(reading):
            reading.probability = min(reading.probability, 0.0)
        else:
            abstain.keep_answers_about_the_asked(reading)
        if q.answer_type in NAME_TYPES:
            reading.groups = rank.rank_groups(q, reading.groups, self.model.candidate_weights, passages)
        return reading

    # ----------------------------------------------------------------- answering

    def as_runnable(self) -> Runnable[dict[str, object], Answer]:
        """A LangChain runnable taking ``{"question": str, "documents": list[Document]}`` (as
        ``NewsdeskQA.chain`` expects of its answerer)."""

        def run(inputs: dict[str, object]) -> Answer:
            documents = inputs["documents"]
            assert isinstance(documents, list)
            return self.answer(str(inputs["question"]), documents)

        return RunnableLambda(run, name="Reader")

    def answer(self, question: str, documents: Sequence[Document]) -> Answer:
        """The cited answer, or an abstention when the evidence is unlikely to answer."""
        reading = self.read(question, documents)
        q = reading.question
        if not reading.sentences or reading.probability < self.threshold:
            return Answer(
                question=question,
                answer=ABSTAIN_MESSAGE,
                abstained=True,
                answer_type=q.answer_type,
                confidence=reading.probability,
            )
        if reading.verdict is not None:
            statements, short = self._yes_no(reading)
        elif reading.choice is not None:
            statements, short = self._choice(reading)
        elif reading.groups:
            statements, short = self._typed(reading)
        else:
            statements, short = self._sentence(reading)
        if not statements or (
            statements[0].evidence and not abstain.holds_asked(statements[0].evidence[0].sentence, q.asked)
        ):
            # A date or number asked and none in the sentence that matches; or "Who is the mayor of
            # ...?" answered by a sentence that says nothing of a mayor.
            return Answer(
                question=question,
                answer=ABSTAIN_MESSAGE,
                abstained=True,
                answer_type=q.answer_type,
                confidence=0.0,
            )
        return compose(question, statements, short, q.answer_type, reading.probability)

    def _supports(
        self,
        reading: Reading,
        statements: list[Statement],
        used: list[Sentence],
        extra: Sequence[Sentence] = (),
    ) -> list[Statement]:
        """Add supporting sentences (``extra`` first, then the most relevant others) within the budget.

        A sentence overlapping one already used is skipped; a sentence that several articles carry is
        shown once with all their markers. At most ``max_support`` are added, and only while the answer
        stays within ``MAX_ANSWER_WORDS`` words.
        """
        words_so_far = sum(len(st.text.split()) for st in statements)
        best = reading.ranked[0].relevance if reading.ranked else 0.0
        candidates = list(extra) + [s for s in reading.ranked if s.relevance >= SUPPORT_SHARE * best]
        added = 0
        for s in candidates:
            if added >= self.max_support:
                break
            if s.heading and s not in extra:
                continue
            if any(_overlaps(s, u) or s.key == u.key for u in used):
                continue
            size = len(s.text.split())
            if words_so_far + size > MAX_ANSWER_WORDS:
                continue
            dupes = [x for x in reading.sentences if x.key == s.key]
            statements.append(Statement(s.text, [Evidence(x) for x in dupes]))
            used.extend(dupes)
            words_so_far += size
            added += 1
        return statements

    @staticmethod
    def lead_of(q: Question, group: Group, max_words: int = MAX_UNTYPED_LEAD_WORDS) -> tuple[Span, Sentence]:
        """The mention of ``group`` to state and the lead (a sentence or its clauses) that states it."""
        shown = group.display()
        start, end = lead_span(shown.sentence, shown, q.terms, max_words)
        return shown, sub_sentence(shown.sentence, start, end)

    def _typed(self, reading: Reading) -> tuple[list[Statement], str]:
        q = reading.question
        group = reading.groups[0]
        shown = group.display()
        # A headline's relevance is inflated (short, and made of the story's key words): the best body
        # sentence sets the bar that a one-fact answer's sentence must come near.
        top = next((s for s in reading.ranked if not s.heading), reading.ranked[0])
        max_words = MAX_LEAD_WORDS
        if self.model.candidate_weights and q.answer_type in NAME_TYPES:
            # The fitted ranker has read every group's mentions (``rank``): its first group leads.
            max_words = MAX_UNTYPED_LEAD_WORDS
        elif len(q.terms) < COMPOUND_TERMS:
            # A one-fact question: its answer sits in one good sentence, so mentions are not summed
            # across articles. The best span of a fitting type leads (its score already weighs its
            # sentence's relevance); else the best span of any type; else the best sentence alone.
            floor = _logit(top.relevance) - self.span_slack
            every = [(g, sp) for g in reading.groups for sp in g.spans]
            near = [x for x in every if _logit(x[1].sentence.context) >= floor]
            strong = [x for x in every if x[1].features.get("fit", 0.0) >= STRONG_FIT]
            # Preference: a span of the asked type in a good sentence; any span in a good sentence; the
            # best sentence alone.
            strong = [x for x in strong if x in near] or near
            if not strong:
                statements, short = self._sentence(reading)
                if q.answer_type not in NAME_TYPES and not may_state(q.answer_type, short):
                    return [], ""  # a date or number was asked; the sentence that matches holds none
                return statements, short
            group, shown = max(strong, key=lambda x: (self._rank(q, x), x[1].score))
            max_words = MAX_UNTYPED_LEAD_WORDS
        start, end = lead_span(shown.sentence, shown, q.terms, max_words)
        lead_sentence = sub_sentence(shown.sentence, start, end)
        same = [x for x in reading.sentences if x.key == shown.sentence.key and x is not shown.sentence]
        evidence = [Evidence(lead_sentence, shown)]
        for x in same:
            mention = next((m for m in group.spans if m.sentence is x), None)
            a, b = (start, end)
            evidence.append(Evidence(sub_sentence(x, a, b), mention))
        statements = [Statement(lead_sentence.text, evidence)]
        used = [shown.sentence, *same]
        # The sentence that echoes the question, when the answer's sentence carries its relevance,
        # then other articles that carry the answer come first among the supports (redundancy).
        others: list[Sentence] = []
        echo = shown.sentence.context_from
        if echo is not None and not echo.furniture:
            others.append(echo)
        seen_articles = {shown.sentence.passage.article} | {x.passage.article for x in same}
        for m in sorted(group.spans, key=lambda m: m.score, reverse=True):
            if m.sentence.passage.article not in seen_articles and m.score >= SUPPORT_SHARE * shown.score:
                seen_articles.add(m.sentence.passage.article)
                others.append(m.sentence)
        return self._supports(reading, statements, used, others), shown.text

    @staticmethod
    def _rank(q: Question, pair: tuple[Group, Span]) -> float:
        """How a one-fact answer is chosen among the spans of good sentences: a name by its group's
        score (agreement across articles counts: news repeats the name it is about), a date or
        number by its own span's score (the one stated in the best sentence)."""
        group, span = pair
        return group.score if q.answer_type in NAME_TYPES else span.score

    def _sentence(self, reading: Reading) -> tuple[list[Statement], str]:
        q = reading.question
        # A body sentence that repeats the question around new words leads ("which insect ..."); else
        # the best body sentence (a headline states a topic rather than an answer).
        body = next((s for s in reading.ranked if not s.heading), reading.ranked[0])
        head = framed_lead(q, reading.ranked) or body
        start, end = lead_span(head, None, q.terms, MAX_UNTYPED_LEAD_WORDS)
        lead_sentence = sub_sentence(head, start, end)
        same = [x for x in reading.sentences if x.key == head.key and x is not head]
        evidence = [Evidence(lead_sentence)] + [Evidence(sub_sentence(x, start, end)) for x in same]
        statements = [Statement(lead_sentence.text, evidence)]
        return self._supports(reading, statements, [head, *same]), lead_sentence.text

    def _yes_no(self, reading: Reading) -> tuple[list[Statement], str]:
        verdict = reading.verdict
        assert verdict is not None
        word = "Yes" if verdict.yes else "No"
        return self._stated(reading, word, verdict.evidence), word

    def _choice(self, reading: Reading) -> tuple[list[Statement], str]:
        assert reading.choice is not None
        option, evidence = reading.choice
        word = option[:1].upper() + option[1:]
        return self._stated(reading, word, evidence), word

    def _stated(self, reading: Reading, word: str, evidence: Sequence[Sentence]) -> list[Statement]:
        """ "Yes."/"No."/an option, citing the claims' evidence, which then follows as support."""
        cited: list[Sentence] = []
        for s in evidence:
            cited += [x for x in reading.sentences if x.key == s.key and x not in cited]
        statements = [Statement(f"{word}.", [Evidence(s) for s in cited])]
        return self._supports(reading, statements, [], list(evidence))
