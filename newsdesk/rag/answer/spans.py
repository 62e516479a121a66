"""Span selection: score sentences and candidate spans, then vote across articles (DrQA + AskMSR).

1. **Sentences** are scored by how much of the question they hold (all its terms, and its rarer
   terms weighted by idf over the retrieved sentences), the same for their neighbours, the
   passage's retrieval similarity, and whether the passage is from an outlet or day the question
   names.
2. **Spans** of the asked type are scored in their sentence: type fit (a "who" question prefers a
   span with a person cue, takes a bare name, barely takes an organisation), proximity to the
   question's terms in the sentence (rarer terms count more), the sentence's score, and novelty
   (a span made only of question words restates the question and is dropped).
3. **Votes**: spans are grouped by normalised text (a short form such as "Bankman-Fried" joins the
   one longer form it is part of), and a group scores its best mention plus a share of the best
   mention of every other article that carries it: wire stories and follow-ups repeat answers.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from newsdesk.rag.answer.candidates import PLACE_CUE, Sentence, Span, idf
from newsdesk.rag.answer.kinds import AUXILIARIES, ENTITY_KINDS, KIND_FIT, place_fit
from newsdesk.rag.answer.question import NAME_TYPES, Question
from newsdesk.reading.words import READING_STOPWORDS as STOPWORDS
from newsdesk.reading.words import share, stem, stems, words

TYPE_FIT: dict[str, dict[str, float]] = {
    **KIND_FIT,
    "date": {"date": 1.0, "year": 0.9, "vague_date": 0.55},
    "count": {"count": 1.0, "quantity": 0.6, "money": 0.25, "percent": 0.25},
    "money": {"money": 1.0, "count": 0.3},
    "percent": {"percent": 1.0, "count": 0.3},
    "duration": {"duration": 1.0, "count": 0.3, "date": 0.3, "year": 0.3},
    "quantity": {"quantity": 1.0, "count": 0.8, "percent": 0.4, "money": 0.3, "duration": 0.5},
}
"""How well a span kind answers a question type (1 = exactly what was asked)."""
STRONG_FIT = 0.75
"""A span of this type fit is a proper answer to the question's type (of the kind a "which X" asks)."""

SENTENCE_FEATURES = (
    "bias", "terms", "rare_terms", "window", "passage", "passage_rank", "bigrams", "compact", "typed",
    "typed_precise", "focus", "heading", "hinted",
)  # fmt: skip
DEFAULT_SENTENCE_WEIGHTS = {
    "bias": -4.0, "terms": 0.0, "rare_terms": 4.0, "window": 1.0, "passage": 1.5, "passage_rank": 0.5,
    "bigrams": 1.0, "compact": 0.0, "typed": 1.0, "typed_precise": 1.0, "focus": 2.0, "heading": 0.0,
    "hinted": 1.0,
}  # fmt: skip
"""Log-odds weights of the sentence ranker, set by hand, not fitted: the question's rarer words (4), its
focus words, those the headline does not already say (2), the neighbours' words, the passage's retrieval
rank and relative similarity, question word pairs kept in order, a span of the asked type (1 each, 2 for
a date, number or amount), an outlet or day the question names (1). Weights fitted on the two eval sets
did no better on them and much worse on unseen stories (see the report), so none are fitted.
``data/reader.json`` may still hold fitted ones (``calibrate --fit-sentences``)."""
SPAN_WEIGHTS = {"sentence": 0.45, "proximity": 0.55}
VOTE_SHARE = 0.35
"""Share of another article's best mention that a span group adds (redundancy voting)."""
PROXIMITY_SCALE = 4.0
"""Tokens at which a question term's closeness to a span halves."""


def term_weights(q: Question, sentences: Sequence[Sentence]) -> dict[str, float]:
    """The question's terms weighted by rarity among the retrieved sentences (idf)."""
    n = len(sentences)
    return {t: w * idf(n, sum(t in s.stems for s in sentences)) for t, w in q.terms.items()}


def sentence_features(
    q: Question,
    s: Sentence,
    rarity: dict[str, float],
    bigrams: set[tuple[str, str]],
    typed: bool,
    top_score: float = 1.0,
) -> dict[str, float]:
    """What the sentence ranker reads about one sentence (``SENTENCE_FEATURES``).

    Retrieval similarity enters relative to the best passage's (``passage``), since its scale varies
    with the corpus and the question's length; everything else is a share or a count.
    """
    positions = [i for i, t in enumerate(s.token_stems) if t in q.terms]
    pairs = set(zip(s.token_stems, s.token_stems[1:], strict=False))
    spread = (positions[-1] - positions[0] + 1) / len(positions) if positions else 10.0
    return {
        "bias": 1.0,
        "terms": share(q.terms, s.stems),
        "rare_terms": share(rarity, s.stems),
        "window": share(q.terms, s.window),
        "passage": max(0.0, s.passage.score) / top_score if top_score > 0 else 0.0,
        "passage_rank": 1.0 / (1.0 + s.passage.rank),
        "bigrams": len(bigrams & pairs) / len(bigrams) if bigrams else 0.0,
        "compact": min(spread, 10.0) / 10.0,
        "typed": float(typed),
        "typed_precise": float(typed and q.answer_type not in NAME_TYPES),
        "focus": focus_share(rarity, s),
        "heading": float(s.heading),
        "hinted": min(1.0, s.passage.hinted),
    }


@lru_cache(maxsize=4096)
def _title_stems(title: str) -> frozenset[str]:
    return frozenset(stems(title))


def focus_share(rarity: dict[str, float], s: Sentence) -> float:
    """Rarity-weighted share of the question's *focus* terms that the sentence holds.

    A news article's headline names its topic; the question's terms that the headline does not hold
    ("cost" in "How much did the solar farm cost?" about "... opens solar farm") say what is asked
    about the topic, so the answer's sentence should hold them. Without a headline every term counts.
    """
    title = _title_stems(s.passage.title) if s.passage.title else frozenset()
    focus = {t: w for t, w in rarity.items() if t not in title}
    if not focus:
        return 0.0
    return share(focus, s.stems)


def question_bigrams(q: Question) -> set[tuple[str, str]]:
    seq = [stem(t) for t in words(q.text) if stem(t) in q.terms]
    return set(itertools.pairwise(seq))


def score_sentences(
    q: Question,
    sentences: Sequence[Sentence],
    weights: dict[str, float] | None = None,
    typed: dict[int, bool] | None = None,
) -> dict[str, float]:
    """Set every sentence's ``overlap``, ``features`` and ``relevance`` (a probability that it holds the
    answer, from a logistic model over ``SENTENCE_FEATURES``); returns the question terms' rarity weights."""
    rarity = term_weights(q, sentences)
    bigrams = question_bigrams(q)
    w = weights or DEFAULT_SENTENCE_WEIGHTS
    top_score = max((max(0.0, s.passage.score) for s in sentences), default=0.0)
    for s in sentences:
        s.overlap = share(q.terms, s.stems)
        s.features = sentence_features(q, s, rarity, bigrams, bool(typed and typed.get(id(s))), top_score)
        z = sum(w.get(name, 0.0) * value for name, value in s.features.items())
        s.relevance = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    return rarity


NEIGHBOUR_SHARE = 0.8
"""Share of a neighbouring sentence's relevance that a sentence carries (the name one sentence away)."""
HEADLINE_SHARE = 0.8
"""Share of the best relevance among its article's sentences that a headline carries."""
DESCRIBED_SHARE = 0.95
"""Share of a sentence's relevance carried to the names before it in its passage when it refers to the
asked thing by description ("The burger chain said ..." after "In-N-Out ...")."""
DESCRIBED_PENALTY = 0.6
"""What a name keeps of its score when it stands in a sentence that calls the asked thing by
description: that sentence names something else beside it ("The chain said in a Facebook post")."""
CARRIED_PROXIMITY = 0.3
"""Proximity credited to a name whose sentence's relevance is carried from a sentence next to it."""


def describes(q: Question, s: Sentence) -> bool:
    """The sentence refers to the asked thing by its description ("the chain", "the burger chain",
    "this show"): the name it stands for is written nearby, not here."""
    if not q.focus or q.answer_type not in NAME_TYPES:
        return False
    return bool(_described(q.focus).search(s.text))


@lru_cache(maxsize=512)
def _described(focus: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:[Tt]he|[Tt]his|[Tt]hat)\s+(?:[a-z][\w-]*\s+){{0,2}}{re.escape(focus)}e?s?\b")


def carry_context(q: Question, sentences: Sequence[Sentence]) -> None:
    """Set every sentence's ``context``: its own relevance, or a share of a sentence's next to it, or,
    for a headline, of its article's best sentence; a sentence that calls the asked thing by
    description lends nearly all of its relevance to the sentences before it in its passage."""
    best_of_article: dict[str, Sentence] = {}
    for s in sentences:
        s.context, s.context_from = s.relevance, None
        if s.field == "text" and not s.furniture:
            held = best_of_article.get(s.passage.article)
            if held is None or s.relevance > held.relevance:
                best_of_article[s.passage.article] = s
    for s in sentences:
        for n in s.neighbours:
            if not n.furniture and NEIGHBOUR_SHARE * n.relevance > s.context:
                s.context, s.context_from = NEIGHBOUR_SHARE * n.relevance, n
        if s.heading:
            held = best_of_article.get(s.passage.article)
            if held is not None and HEADLINE_SHARE * held.relevance > s.context:
                s.context, s.context_from = HEADLINE_SHARE * held.relevance, held
    for s in sentences:
        if s.field != "text" or not describes(q, s):
            continue
        for other in sentences:
            before = other.passage is s.passage and other.field == "text" and other.end <= s.start
            headline = other.heading and other.passage.article == s.passage.article
            if (before or headline) and DESCRIBED_SHARE * s.relevance > other.context:
                other.context, other.context_from = DESCRIBED_SHARE * s.relevance, s


def described_as(focus: str, span: Span) -> bool:
    """The article calls the name a thing of the asked kind, in apposition or by pattern: "Zepbound,
    the weight-loss drug", "the festival Mondegreen", "drugs such as Zepbound", "a drug called
    Zepbound" (``focus`` is the question's head noun)."""
    if not focus or span.kind in ("opener",):
        return False
    text = span.sentence.text
    after = text[span.end : span.end + 80]
    before = text[max(0, span.start - 60) : span.start]
    said = _apposition_after(focus).match(after)
    return bool((said and _ends_noun_phrase(after[said.end() :])) or _apposition_before(focus).search(before))


_NEXT_WORD = re.compile(r"\s+([A-Za-z][\w'’-]*)")


_ROLE_NOUNS = frozenset({"host", "chief", "head", "star", "boss", "giant", "owner", "fan", "executive"})
_ROLE_ENDINGS = ("er", "or", "ist", "ian", "ers", "ors", "ists", "ians")


def _ends_noun_phrase(rest: str) -> bool:
    """The focus word heads its phrase ("the weight-loss drug made by"), unless a role noun follows
    it: "the former talk show host" is a host, "the drug maker" a company."""
    following = _NEXT_WORD.match(rest)
    if following is None:
        return True  # punctuation or the end
    word = following.group(1).lower()
    return not (word in _ROLE_NOUNS or (word.endswith(_ROLE_ENDINGS) and word not in STOPWORDS))


@lru_cache(maxsize=512)
def _apposition_after(focus: str) -> re.Pattern[str]:
    # "Zepbound, the weight-loss drug", "Mondegreen, a four-day music festival"
    return re.compile(
        rf"^,?\s+(?:is\s+)?(?:the|a|an)\s+(?:[\w'’-]+\s+){{0,4}}?{re.escape(focus)}e?s?\b", re.I
    )


@lru_cache(maxsize=512)
def _apposition_before(focus: str) -> re.Pattern[str]:
    # "the festival Mondegreen", "drugs such as Zepbound", "a drug called Zepbound"
    return re.compile(
        rf"\b{re.escape(focus)}e?s?,?\s+(?:(?:such\s+as|called|named|known\s+as|like)\s+)?[“\"‘]?$", re.I
    )


FRAME_SLOT = 6
"""Words an answer may take between the two sides of the question's frame (``frame_fit``)."""
FRAMED_SHARE = 0.9
"""An untyped answer's lead may be a sentence repeating the question's frame around new words if it
scores at least this share of the best sentence's relevance: the frame decides between sentences the
ranker finds about as good (on news-quiz questions, 0.5 and 0.7 chose as well; on Wikipedia's, they
took sentences that echo the question less for a loose frame)."""
FRAMED_FIT = 1.0
"""The least ``frame_fit`` that decides: one content word of the frame beside the new words."""
_AUXILIARY_STEMS = frozenset(stem(w) for w in AUXILIARIES)


def _frame_weight(token: str) -> float:
    return 0.25 if token in STOPWORDS or token in _AUXILIARY_STEMS else 1.0


def _matched(seq: Sequence[str], at: int, words: Sequence[str]) -> float:
    """The weight of ``words`` matched in order from token ``at`` on, up to the first that differs."""
    total = 0.0
    for i, word in enumerate(words):
        if at + i >= len(seq) or seq[at + i] != word:
            break
        total += _frame_weight(word)
    return total


def frame_fit(q: Question, sentence: Sentence) -> float:
    """How much of the question's frame (``kinds.wh_frame``) the sentence repeats right around words
    the question does not hold, where the answer stands: "a pod of [which species] washed ashore" in "a
    pod of pilot whales washed ashore", "keeps stealing [what]" in "likes to steal surfboards", and a
    passive question said actively, "[which insect] has been added to the list" in "added the monarch
    butterfly to the list". The frame's words matched next to the new words, in order, each 1 (a
    function word 0.25); 0 when no content word of the frame stands beside them."""
    if q.frame is None:
        return 0.0
    before, after = q.frame
    seq = sentence.token_stems
    n = len(seq)
    # the frame's words before the answer, matched backwards from each token
    left = [_matched(seq[e - 1 :: -1] if e else (), 0, before[::-1]) for e in range(n + 1)]
    new = [t not in q.terms and _frame_weight(t) == 1.0 for t in seq]
    best = 0.0
    for p in range(n + 1):
        at = p
        while at < n and seq[at] in _AUXILIARY_STEMS and (not after or seq[at] != after[0]):
            at += 1
        right = _matched(seq, at, after)
        rest = _matched(seq, p, after[1:])  # the frame's first word said before the answer instead
        for e in range(max(0, p - FRAME_SLOT), p):
            if not any(new[e:p]):
                continue
            fits = [left[e] + right]
            if after and e and seq[e - 1] == after[0] and rest:
                fits.append(_frame_weight(after[0]) + rest)
            best = max([best] + [f for f in fits if f >= 1.0])
    return best


def framed_lead(q: Question, ranked: Sequence[Sentence]) -> Sentence | None:
    """Among the body sentences that score at least ``FRAMED_SHARE`` of the best's relevance, the one
    that best repeats the question's frame around new words (``frame_fit``), for a question whose
    answer is no name or number ("which insect", "stealing what"); None when none repeats it."""
    if q.frame is None or not ranked:
        return None
    floor = FRAMED_SHARE * ranked[0].relevance
    body = [s for s in ranked if s.relevance >= floor and not s.heading and not s.furniture]
    fits = [(frame_fit(q, s), s) for s in body]
    fit, sentence = max(fits, key=lambda x: x[0], default=(0.0, None))
    return sentence if fit >= FRAMED_FIT else None


def type_fit(q: Question, kind: str) -> float:
    if q.wants_year and kind in ("year", "date"):
        return 1.0
    return TYPE_FIT.get(q.answer_type, {}).get(kind, 0.0)


def span_fit(q: Question, span: Span) -> float:
    """``type_fit``, narrowed for a place question by what the place is: "which country" is answered
    by a country, "which state" by a U.S. state, "which city" by neither (``kinds.place_fit``); and
    widened for an organisation named by its place ("which team": "Argentina")."""
    fit = type_fit(q, span.kind)
    if q.by_place and span.kind == "place" and not PLACE_CUE.search(span.sentence.text[: span.start]):
        return max(fit, STRONG_FIT)  # "which team won": "Argentina won", not "won in Miami"
    if q.answer_type == "place" and span.kind in ("place", "name", "opener"):
        narrowed = place_fit(q.focus, span.text)
        if narrowed is not None:
            return fit * narrowed
    return fit


def proximity(span: Span, rarity: dict[str, float]) -> float:
    """Rarity-weighted closeness of the question's terms to the span in its sentence (0 to 1)."""
    sentence = span.sentence
    inside = [i for i, (a, b) in enumerate(sentence.token_offsets) if a >= span.start and b <= span.end]
    if not inside:
        return 0.0
    first, last = inside[0], inside[-1]
    total = sum(rarity.values())
    if not total:
        return 0.0
    best: dict[str, int] = {}
    positions = list(enumerate(sentence.token_stems))
    positions += [(i, t) for t, places in sentence.aliases.items() for i in places]
    for i, t in positions:
        if t in rarity and not first <= i <= last:
            d = first - i if i < first else i - last
            if t not in best or d < best[t]:
                best[t] = d
    return sum(rarity[t] / (1.0 + (d - 1) / PROXIMITY_SCALE) for t, d in best.items()) / total


def novelty(span: Span, q: Question) -> float:
    """Share of the span's words that the question does not already say."""
    parts = [p for p in span.text.replace("-", " ").split() if p.lower() not in STOPWORDS]
    if not parts:
        return 0.0
    new = sum(stem(p) not in q.terms for p in parts)
    return new / len(parts)


def score_spans(q: Question, spans: Sequence[Span], rarity: dict[str, float]) -> list[Span]:
    """Score every span of a fitting type; spans that fit nothing or restate the question are dropped."""
    out = []
    w = SPAN_WEIGHTS
    for span in spans:
        fit = span_fit(q, span)
        if q.answer_type in NAME_TYPES and described_as(q.focus, span):
            fit = 1.0  # the article itself says what kind of thing the name is
        if fit <= 0:
            continue
        new = novelty(span, q)
        if new <= 0:
            continue
        near = proximity(span, rarity)
        sentence = span.sentence
        context = max(sentence.relevance, sentence.context)
        if sentence.context_from is not None and sentence.context > sentence.relevance:
            near = max(near, CARRIED_PROXIMITY)
        # The square root softens the sentence model's peaked probabilities: a span right next to the
        # question's words in a fair sentence can beat a loose one in the best sentence.
        base = math.sqrt(context) * (w["sentence"] + w["proximity"] * near)
        if sentence.field == "text" and describes(q, sentence):
            base *= DESCRIBED_PENALTY
        span.features = {"fit": fit, "novelty": new, "proximity": near, "sentence": context}
        span.score = fit * base * (0.5 + 0.5 * new)
        out.append(span)
    return out


@dataclass
class Group:
    """Mentions of one answer across the passages."""

    key: str
    spans: list[Span] = field(default_factory=list)
    score: float = 0.0
    articles: int = 0
    chance: float = 0.0
    """The candidate ranker's estimate that this group is the answer (``rank.rank_groups``)."""

    @property
    def best(self) -> Span:
        return max(self.spans, key=lambda s: s.score)

    def display(self) -> Span:
        """The mention to show: the fullest name an article gives the answer ("Sam Bankman-Fried"
        over "Bankman-Fried", "the Detroit Lions" over "the Lions"), since a reader checks and a quiz
        asks for the full name, in the sentence that best echoes the question; without one, the form
        most articles use."""
        full = [s for s in self.spans if s.key == self.key]
        if full:
            return max(full, key=lambda s: (s.sentence.relevance, s.score))
        counts: dict[str, set[str]] = {}
        for s in self.spans:
            counts.setdefault(s.key, set()).add(s.sentence.passage.article)
        key = max(counts, key=lambda k: (len(counts[k]), len(k)))
        return max((s for s in self.spans if s.key == key), key=lambda s: s.score)


def _alias_target(key: str, longer: Sequence[str]) -> str | None:
    """The longer name holding ``key`` as whole words ("Bankman-Fried" -> "Sam Bankman-Fried"): the one
    hit, or the one hit that every other hit holds ("Knicks" -> "New York Knicks", also inside
    "New York Knicks NBA Finals")."""
    inner = f" {' '.join(key.split())} "
    hits = [o for o in longer if inner in f" {' '.join(o.split())} "]
    if len(hits) > 1:
        hits = [h for h in hits if all(f" {h} " in f" {o} " for o in hits)]
    return hits[0] if len(hits) == 1 else None


def vote(spans: Sequence[Span]) -> list[Group]:
    """Group spans by answer and score each group: best mention + ``VOTE_SHARE`` x other articles' best."""
    by_key: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_key[span.key].append(span)
    keys = sorted(by_key, key=lambda k: -len(k))
    name_kinds = {"name", "opener", "quoted", *ENTITY_KINDS}
    named = [k for k in keys if any(s.kind in name_kinds for s in by_key[k])]
    for key in keys:
        if not all(s.kind in name_kinds for s in by_key[key]):
            continue
        longer = [k for k in named if len(k) > len(key) and k in by_key]
        target = _alias_target(key, longer)
        if target is not None:
            by_key[target].extend(by_key.pop(key))
    groups = []
    for key, members in by_key.items():
        per_article: dict[str, float] = {}
        for s in members:
            article = s.sentence.passage.article
            per_article[article] = max(per_article.get(article, 0.0), s.score)
        ranked = sorted(per_article.values(), reverse=True)
        score = ranked[0] + VOTE_SHARE * sum(ranked[1:])
        groups.append(Group(key, members, score, len(ranked)))
    groups.sort(key=lambda g: g.score, reverse=True)
    return groups
