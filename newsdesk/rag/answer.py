"""Answer step (default, no LLM): quote the sentences of the retrieved passages that answer the question.

How an answer is chosen, without a language model and without embedding anything per question:

1. **The question is read** (``analyse``): its content words (names and numbers weigh double,
   question-frame words like *type* or *year* do not count), the kind of answer it wants (a person
   for *who*, a date for *when*, a number for *how many* ...), its names, numbers and negation, and
   whether it compares things or outlets.
2. **Every sentence of the passages is scored** from the passage's retrieval similarity, the share
   of the question's words the sentence and its neighbours hold, and whether the sentence holds an
   entity of the asked kind that the question does not already name.
3. **The shortest span that carries the answer is quoted**: a long sentence holding a typed entity
   is cut at clause boundaries (``; , : —`` and conjunctions) to the shortest run of clauses that
   holds the entity and the question's words and still reads as a statement. A quote is always
   ``article_text[start:end]``, so a citation never claims more than its article says.
4. **Comparisons** ("both X and Y", "X or Y", "compared with", two outlets named) quote the best
   sentence of two (or three) different articles, each with its own citation.
5. **Abstention is calibrated**: a logistic model over evidence features (question words, names
   and numbers missing from the evidence, a negation or an antonym the evidence does not share, no
   entity of the asked kind, weak retrieval similarity) estimates the chance that the evidence
   answers the question; under ``min_score`` the answer abstains, with no citation.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda

from newsdesk.index.chunk import split_sentences
from newsdesk.index.embed import Embedder
from newsdesk.rag.types import Answer, Citation, also_in_of
from newsdesk.text import STOPWORDS

MIN_SENTENCE_WORDS = 4  # headlines and fragments are context, not answers
MIN_SPAN_WORDS = 6  # a clause run shorter than this does not read as a statement on its own
LONG_SENTENCE_WORDS = 20  # sentences up to this long are quoted whole
SPAN_TERM_SHARE = 0.8  # a span keeps this share of the question-term weight its sentence holds
ABSTAIN_MESSAGE = "The indexed articles do not answer this question."

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+|(?<=\d),\d{3}(?!\d))*")
_NUMERIC = re.compile(r"\d[\d,.]*(?:st|nd|rd|th|s)?", re.IGNORECASE)
_MARKER_LIKE = re.compile(r"\[\d+\]")  # a quote holding "[3]" would be read as a citation marker
_STOPWORDS = STOPWORDS | frozenset(
    "also according did does many much name named called say said one".split()
)  # function words, and words that say how a question asks rather than what about
# Words that frame a question rather than say what it is about ("what *type* of", "in what *year*").
_FRAME_WORDS = frozenset(
    """
    type types kind kinds sort name names time times year years date dates day days percentage
    percent number numbers amount mean means meaning entity entities term terms word words example
    examples made make makes lots often usually known refer refers referred thing things way ways
    certain specific particular various article articles report reports reported reporting
    """.split()
)
_SUFFIXES = (
    "ational", "ations", "ation", "ments", "ment", "ness", "ingly", "ings", "ing", "edly",
    "ies", "ied", "ed", "es", "s", "ly", "ers", "er", "est",
)  # fmt: skip

# Number words and ordinals stem to digits, so "third" meets "3rd" and "three" meets "3".
_NUMBER_NAMES = {
    word: str(i)
    for i, word in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
} | {
    word: f"{i}th"
    for i, word in enumerate(
        "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
    )
}
_NUMBER_NAMES |= {f"{i}{suffix}": f"{i}th" for i in range(1, 13) for suffix in ("st", "nd", "rd", "th")}

# --------------------------------------------------------------------------- words and terms


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude, fast stem: a common suffix dropped, then the first five letters; numbers kept whole."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in _NUMBER_NAMES:
        return _NUMBER_NAMES[w]
    if any(ch.isdigit() for ch in w):
        return w.replace(",", "")
    if "-" in w:  # "Anglo-Norman" is not "Anglo-Saxon"
        return "-".join(stem(part) for part in w.split("-") if part)
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:5]


def _words(text: str) -> Iterable[str]:
    """Tokens of ``text``, and the parts of hyphenated ones ("pre-1875" gives "pre", "1875")."""
    for token in _TOKEN.findall(text):
        yield token
        if "-" in token:
            yield from (part for part in token.split("-") if part)


def content_terms(text: str) -> dict[str, float]:
    """Question words that carry meaning, with weights: names and numbers count double."""
    terms: dict[str, float] = {}
    for token in _words(text):
        lower = token.lower()
        if lower in _STOPWORDS or lower in _FRAME_WORDS or lower.endswith(("n't", "n’t")):
            continue
        weight = 2.0 if token[0].isupper() or token[0].isdigit() else 1.0
        key = stem(lower)
        terms[key] = max(terms.get(key, 0.0), weight)
    return terms


def stems_of(text: str) -> set[str]:
    """The stems of every word of ``text``."""
    return {stem(t) for t in _words(text)}


def lexical_overlap(terms: dict[str, float], sentence: str) -> float:
    """Weighted share of the question's content terms that the sentence contains (0 to 1)."""
    return _share(terms, stems_of(sentence))


def _share(terms: dict[str, float], present: set[str]) -> float:
    if not terms:
        return 0.0
    return sum(w for t, w in terms.items() if t in present) / sum(terms.values())


# --------------------------------------------------------------------------- entities

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|"
    r"half|single|double|triple|several)"
)
_UNITS_OF_TIME = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century)"
ENTITY_PATTERNS: dict[str, re.Pattern[str]] = {
    "year": re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})(?:s|\s?(?:BC|AD|BCE|CE))?\b"),
    "date": re.compile(
        rf"\b(?:1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b{_MONTH}(?=[\s,]|$)|\b\d{{4}}-\d{{2}}-\d{{2}}\b|"
        r"\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)|"
        r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow)\b|"
        r"\b(?:early|mid|late)[- ](?:\d|[a-z]+teenth|[a-z]+ieth)|"
        r"\b(?:[A-Z][a-z]+(?:cene|cian|ssic|ceous|zoic)|Bronze Age|Iron Age|Middle Ages)\b",
        re.IGNORECASE,
    ),
    "number": re.compile(rf"\b\d[\d,.]*\b|\b{_NUMBER_WORDS}\b", re.IGNORECASE),
    "money": re.compile(
        r"[$£€¥]\s?\d|\b\d[\d,.]*\s*(?:million|billion|thousand)?\s*(?:dollars|pounds|euros|yen|francs|"
        r"marks|rupees|cents|pence|USD|EUR|GBP)\b",
        re.IGNORECASE,
    ),
    "percent": re.compile(r"\b\d[\d.,]*\s?(?:%|percent\b|per\s?cent\b)", re.IGNORECASE),
    "duration": re.compile(rf"\b(?:\d[\d,.]*|{_NUMBER_WORDS})[\s-]+{_UNITS_OF_TIME}\b", re.IGNORECASE),
}
_FULL_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?"
    rf"(?:,?\s+\d{{4}})?|\b{_MONTH},?\s+\d{{4}}|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
)
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9’'.-]*[A-Za-z0-9]|\b[A-Z]\b")
_NOT_NAMES = frozenset(
    """
    january february march april may june july august september october november december monday
    tuesday wednesday thursday friday saturday sunday another however although during many most
    some such these this those its after before while when where there here today yesterday
    """.split()
)
_NEGATION = re.compile(
    r"\b(?:not(?!\s+only\b)|never|no|none|neither|nor|without|cannot)\b|n[’']t\b", re.IGNORECASE
)

# What each kind of question wants, and which entity kinds supply it.
ANSWER_KINDS: dict[str, tuple[str, ...]] = {
    "year": ("year",),
    "date": ("date",),
    "count": ("number",),
    "amount": ("money", "number", "percent"),
    "percent": ("percent", "number"),
    "duration": ("duration", "number", "date"),
    "number": ("number",),
    "person": ("name",),
    "place": ("name",),
    "entity": ("name",),
}
_KIND_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:what|which|in what|in which)\s+(?:year|decade|century)\b", re.I), "year"),
    (re.compile(r"\b(?:what|which)\s+(?:date|day|month|time|period|era|epoch|age)\b", re.I), "date"),
    (re.compile(r"\bwhen\b", re.I), "date"),
    (re.compile(r"\bhow\s+many\b|\b(?:what|which)\s+(?:number|amount)\b", re.I), "count"),
    (
        re.compile(r"\b(?:what|which)\s+percentage\b|\bwhat\s+percent\b|\bhow\s+much\s+percent", re.I),
        "percent",
    ),
    (re.compile(r"\bhow\s+much\b|\b(?:what|which)\s+(?:price|cost|sum)\b", re.I), "amount"),
    (re.compile(r"\bhow\s+long\b", re.I), "duration"),
    (
        re.compile(
            r"\bhow\s+(?:old|far|big|large|tall|high|deep|wide|fast|heavy|often|small)\b|"
            r"\b(?:what|which)\s+(?:size|length|height|distance|speed|temperature|population)\b",
            re.I,
        ),
        "number",
    ),
    (re.compile(r"\b(?:who|whom|whose)\b", re.I), "person"),
    (
        re.compile(r"\bwhere\b|\b(?:what|which)\s+(?:country|city|state|town|region|place|nation)\b", re.I),
        "place",
    ),
    (
        re.compile(
            r"\b(?:what|which)\s+(?:company|firm|organi[sz]ation|team|person|player|group|outlet|"
            r"network|brand|university|party|agency|band|club|newspaper|magazine)\b",
            re.I,
        ),
        "entity",
    ),
    (re.compile(r"\b(?:why|how)\b", re.I), ""),  # a reason or a manner: no entity kind
    (re.compile(r"\b(?:what|which)\b", re.I), ""),  # any other what/which: no entity kind
]
_AUXILIARY = r"(?i:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|might)"
_YES_NO_START = re.compile(rf"^\s*{_AUXILIARY}\b")
# "Between the report from X and the one from Y, is there ...?", "After X said Y, did Z ...?"
_YES_NO_LATER = re.compile(
    rf"[,;:]\s+{_AUXILIARY}\s+(?:(?i:there|the|it|this|that|these|those|both|any|all|a|an)\b|[A-Z'‘\"])"
)
_WH_START = re.compile(r"^\s*(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


def is_yes_no(question: str) -> bool:
    """True for a question answered by yes or no (an auxiliary verb asks, not a wh-word)."""
    if _YES_NO_START.search(question):
        return True
    return not _WH_START.search(question) and bool(_YES_NO_LATER.search(question))


_COMPARISON = re.compile(
    r"\bboth\b|\bcompared?\s+(?:with|to)\b|\bin\s+comparison\s+(?:with|to)\b|\bversus\b|\bvs\.?\s|"
    r"\b(?:same|different|differ|differs|consistent|consistency|agree|disagree|whereas)\b|"
    r"\b(?:is|was|were|are|did|does|do|has|have|had)\b[^?]*\bor\b[^?]*\?\s*$",
    re.I,
)

# Word pairs where a question saying one and the evidence the other is a classic unanswerable swap.
_ANTONYM_PAIRS = """
simple complex simplest complex more less most least first last first second increase decrease
before after larger smaller largest smallest higher lower highest lowest early late earlier later
north south east west northern southern eastern western minimum maximum positive negative
success failure win lose won lost accept reject opened closed begin end start end lack have
lack possess inner outer upper lower old new older newer oldest newest longest shortest
large small big small biggest smallest major minor private public legal illegal agree disagree
support oppose rise fall gain loss above below top bottom same different include exclude
allow forbid allow prohibit direct indirect internal external import export fast slow
faster slower strong weak stronger weaker rich poor true false always never entry exit
cheap expensive accurate inaccurate possible impossible dependent independent modern ancient
rural urban male female men women increase reduce inside outside extend limit mild severe
give take gave took given taken buy sell bought sold import export maximum minimum
""".split()


def _antonym_map() -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = {}
    for a, b in zip(_ANTONYM_PAIRS[::2], _ANTONYM_PAIRS[1::2], strict=True):
        pairs.setdefault(stem(a), set()).add(stem(b))
        pairs.setdefault(stem(b), set()).add(stem(a))
    return {k: frozenset(v) for k, v in pairs.items()}


_ANTONYMS = _antonym_map()
_NEGATING_PREFIX = re.compile(r"^(?:non-?|un|in|im|ir|il|dis|anti-?)(?=[a-z]{4})", re.I)


def entity_spans(kind: str, text: str) -> list[tuple[int, int]]:
    """Where entities of ``kind`` ("name" or a key of ``ENTITY_PATTERNS``) occur in ``text``."""
    if kind == "name":
        return [
            (m.start(), m.end())
            for m in _CAPITALISED.finditer(text)
            if m.group().lower() not in _STOPWORDS and m.group().lower() not in _NOT_NAMES
        ]
    return [(m.start(), m.end()) for m in ENTITY_PATTERNS[kind].finditer(text)]


def typed_entities(kinds: Sequence[str], text: str, known: set[str]) -> list[tuple[int, int]]:
    """Entities of any of ``kinds`` in ``text`` whose words are not all already ``known`` stems.

    A number that is part of a date ("14 March 2025") is not a count or an amount.
    """
    found: list[tuple[int, int]] = []
    dates: list[tuple[int, int]] | None = None
    for kind in kinds:
        for start, end in entity_spans(kind, text):
            words = stems_of(text[start:end])
            if not words or words <= known:
                continue
            if kind == "number":
                if dates is None:
                    dates = [(m.start(), m.end()) for m in _FULL_DATE.finditer(text)]
                if any(s <= start and end <= e for s, e in dates):
                    continue
            found.append((start, end))
    return found


# A weekday or "today" answers "when" less precisely than a date with a year or a day of a month.
_VAGUE_DATE = re.compile(
    r"^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow)$", re.I
)


def type_strength(kinds: Sequence[str], text: str, known: set[str]) -> float:
    """1 when ``text`` holds a new entity of the asked kind, 0.5 for a vague date only, else 0."""
    strength = 0.0
    for start, end in typed_entities(kinds, text, known):
        if not _VAGUE_DATE.match(text[start:end]):
            return 1.0
        strength = 0.5
    return strength


# --------------------------------------------------------------------------- the question


@dataclass(frozen=True)
class Question:
    """What the answer step needs to know about a question."""

    text: str
    terms: dict[str, float]
    kind: str | None
    names: frozenset[str]
    numbers: frozenset[str]
    negated: bool
    yes_no: bool
    comparison: bool

    @property
    def entity_kinds(self) -> tuple[str, ...]:
        return ANSWER_KINDS.get(self.kind or "", ())


def answer_kind(question: str) -> str | None:
    """The kind of answer the question asks for (``year``, ``date``, ``count`` ...), or None.

    When several question words occur ("Who was chief executive when ...?"), the first one asks.
    """
    found: tuple[int, int, str] | None = None
    for order, (pattern, kind) in enumerate(_KIND_RULES):
        match = pattern.search(question)
        if match and (found is None or (match.start(), order) < found[:2]):
            found = (match.start(), order, kind)
    return (found[2] or None) if found else None


def analyse(question: str) -> Question:
    """Read a question: its terms, asked kind, names, numbers, negation and comparison."""
    tokens = _TOKEN.findall(question)
    names = set()
    for i, token in enumerate(tokens):
        lower = token.lower()
        if lower in _STOPWORDS or lower in _FRAME_WORDS or not token[0].isupper():
            continue
        if i == 0 and not any(ch.isupper() for ch in token[1:]):
            continue  # the question's first word is capitalised anyway
        names.add(stem(lower))
    numbers = {stem(t) for t in _words(question) if _NUMERIC.fullmatch(t)}
    return Question(
        text=question,
        terms=content_terms(question),
        kind=answer_kind(question),
        names=frozenset(names),
        numbers=frozenset(numbers),
        negated=bool(_NEGATION.search(question)),
        yes_no=is_yes_no(question),
        comparison=bool(_COMPARISON.search(question)),
    )


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """A sentence (or a clause run of one) of a retrieved passage, its span in the article, its score.

    ``overlap`` is the weighted share of the question's terms it holds, ``typed`` whether it holds an
    entity of the asked kind that the question does not name, ``window`` the stems of the sentence
    and its neighbours in the passage.
    """

    document: Document
    start: int
    end: int
    text: str
    score: float
    overlap: float = 0.0
    typed: bool = False
    window: frozenset[str] = frozenset()


@dataclass
class _Sentence:
    doc: Document
    start: int  # in the article
    end: int
    text: str
    stems: set[str]
    window: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Assessment:
    """What ``ExtractiveAnswerer.assess`` found: ``probability`` is the chance the evidence answers."""

    question: Question
    ranked: list[Candidate]
    chosen: list[Candidate]
    features: np.ndarray | None
    probability: float


# Sentence score weights: (passage similarity, sentence overlap, neighbourhood overlap, typed entity).
SENTENCE_WEIGHTS = (0.3, 0.5, 0.2, 0.15)
IDF_MIX = 1.0  # how much the rarer question words count, against all of them equally
PRECISE_TYPE_BOOST = 2.0  # a date, number or amount is a surer sign of the answer than a capital letter


def _article(document: Document) -> str:
    meta = document.metadata
    return str(meta.get("article_id") or meta.get("url") or document.id)


@lru_cache(maxsize=4096)
def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a passage: blingfire's, split again where it missed ". Capital" boundaries."""
    spans: list[tuple[int, int]] = []
    for span in split_sentences(text):
        start = span.start
        for m in _MISSED_BOUNDARY.finditer(text, span.start, span.end):
            spans.append((start, m.start() + 1))
            start = m.end()
        spans.append((start, span.end))
    return spans


# "... the Purus Arch. Water on the ..." (a lower-case word, a full stop, a space, a capital), which
# abbreviations such as "U.S. Navy" or "Dr. Smith" do not match.
_MISSED_BOUNDARY = re.compile(
    r"(?<=[a-z0-9)\"”’][a-z0-9)\"”’])(?<!\bvs)(?<!\bca)(?<!\bcf)(?<!\bapprox)[.!?]\s+(?=[A-Z][a-z])"
)


@dataclass
class ExtractiveAnswerer:
    """Composes a cited answer from retrieved passages without a language model.

    Args:
        embedder: the retrieval model; kept so that other answerers can re-score with it. The
            default scoring uses no forward pass (the retrieval similarity is reused).
        min_score: estimated chance that the evidence answers the question under which it abstains
            (see ``ABSTAIN_WEIGHTS``). Default: 0.40.
        max_sentences: sentences in an answer, 1 to 3. Default: 3.
        keep_ratio: a further sentence must score this share of the best one. Default: 0.9.
        weights: sentence score weights (passage similarity, sentence overlap, neighbourhood
            overlap, typed entity). Default: ``SENTENCE_WEIGHTS``.
    """

    embedder: Embedder | None = None
    min_score: float = 0.40
    max_sentences: int = 3
    keep_ratio: float = 0.9
    weights: tuple[float, ...] = SENTENCE_WEIGHTS

    # ----------------------------------------------------------------- scoring

    def _sentences(self, documents: Sequence[Document]) -> list[_Sentence]:
        seen: set[tuple[str, int]] = set()
        out: list[_Sentence] = []
        for doc in documents:
            base = int(doc.metadata.get("start", 0))
            key_id = _article(doc)
            title = str(doc.metadata.get("title", "")).strip()
            text = doc.page_content
            mine = [
                _Sentence(doc, base + s, base + e, text[s:e], stems_of(text[s:e]))
                for s, e in _sentence_spans(text)
            ]
            for i, sentence in enumerate(mine):
                sentence.window = sentence.stems.union(
                    *(mine[j].stems for j in (i - 1, i + 1) if 0 <= j < len(mine))
                )
            for sentence in mine:
                key = (key_id, sentence.start)
                if (
                    key in seen
                    or sentence.text == title
                    or len(_TOKEN.findall(sentence.text)) < MIN_SENTENCE_WORDS
                    or _MARKER_LIKE.search(sentence.text)
                ):
                    continue
                seen.add(key)
                out.append(sentence)
        return out

    def _score(self, q: Question, sentences: Sequence[_Sentence]) -> list[Candidate]:
        w_passage, w_sentence, w_window, w_typed = self.weights[:4]
        known = set(q.terms)
        # A question word found in every sentence (the story's subject) tells them apart least.
        n = len(sentences)
        rarity = {
            t: w * math.log(1.0 + n / (1.0 + sum(t in s.stems for s in sentences)))
            for t, w in q.terms.items()
        }
        scored: list[Candidate] = []
        for s in sentences:
            overlap = _share(q.terms, s.stems)
            specific = _share(rarity, s.stems)
            strength = type_strength(q.entity_kinds, s.text, known) if q.entity_kinds else 0.0
            typed = strength > 0
            if q.entity_kinds != ("name",):
                strength *= PRECISE_TYPE_BOOST
            score = (
                w_passage * float(s.doc.metadata.get("score", 0.0))
                + w_sentence * (overlap + IDF_MIX * specific) / (1 + IDF_MIX)
                + w_window * _share(q.terms, s.window)
                + w_typed * strength
            )
            scored.append(
                Candidate(s.doc, s.start, s.end, s.text, score, overlap, typed, frozenset(s.window))
            )
        scored.sort(key=lambda c: c.score, reverse=True)
        return scored

    def candidates(self, question: str, documents: Sequence[Document]) -> list[Candidate]:
        """Every sentence of every passage, scored, best first; overlapping passages count once."""
        return self._score(analyse(question), self._sentences(documents))

    # ----------------------------------------------------------------- answering

    def assess(self, question: str, documents: Sequence[Document]) -> Assessment:
        """Everything the answer rests on: the ranked sentences, the chosen ones, the evidence features."""
        q = analyse(question)
        ranked = self._score(q, self._sentences(documents))
        if not ranked:
            return Assessment(q, [], [], None, 0.0)
        chosen = self.choose(q, ranked, documents)
        features = abstention_features(q, chosen, ranked, documents)
        return Assessment(q, ranked, chosen, features, answerable_probability(features))

    def answer(self, question: str, documents: Sequence[Document]) -> Answer:
        """The cited answer, or an abstention when the evidence is unlikely to answer."""
        assessed = self.assess(question, documents)
        if not assessed.chosen or assessed.probability < self.min_score:
            return Answer(question=question, answer=ABSTAIN_MESSAGE, abstained=True)
        return compose(question, [shortest_span(assessed.question, c) for c in assessed.chosen])

    def choose(
        self, q: Question, ranked: Sequence[Candidate], documents: Sequence[Document] = ()
    ) -> list[Candidate]:
        """The best sentence and close runners-up; for a comparison, the best of two articles or outlets."""
        best = ranked[0]
        chosen = [best]
        limit = max(1, min(self.max_sentences, 3))
        outlets = named_outlets(q.text, documents)
        if len(outlets) >= 2:
            chosen = []
            for outlet in outlets[:limit]:
                own = [c for c in ranked if str(c.document.metadata.get("source", "")) == outlet]
                taken = {_article(c.document) for c in chosen}
                pick = next((c for c in own if _article(c.document) not in taken), None)
                if pick is not None:
                    chosen.append(pick)
            chosen.sort(key=lambda c: c.score, reverse=True)
            return chosen[:limit] or [best]
        if q.comparison and limit >= 2:
            other = second_article(q, best, ranked)
            if other is not None:
                chosen.append(other)
        for candidate in ranked[1:]:
            if len(chosen) >= limit or candidate.score < self.keep_ratio * best.score:
                break
            if candidate not in chosen:
                chosen.append(candidate)
        return chosen

    def as_runnable(self) -> Runnable[dict[str, object], Answer]:
        """A LangChain runnable taking ``{"question": str, "documents": list[Document]}``."""

        def run(inputs: dict[str, object]) -> Answer:
            question = str(inputs["question"])
            documents = inputs["documents"]
            assert isinstance(documents, list)
            return self.answer(question, documents)

        return RunnableLambda(run, name="ExtractiveAnswerer")


def named_outlets(question: str, documents: Sequence[Document]) -> list[str]:
    """The outlets among the documents' sources that the question names, in the question's order."""
    found: list[tuple[int, str]] = []
    for source in {str(d.metadata.get("source", "")) for d in documents}:
        name = source.split("|")[0].strip()
        if len(name) >= 3:
            match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", question, re.IGNORECASE)
            if match:
                found.append((match.start(), source))
    return [source for _, source in sorted(found)]


def second_article(q: Question, best: Candidate, ranked: Sequence[Candidate]) -> Candidate | None:
    """The best sentence of another article, preferring one that holds what the first one lacks."""
    missing = {t: w for t, w in q.terms.items() if t not in best.window}
    pick: Candidate | None = None
    pick_value = 0.0
    for candidate in ranked[1:]:
        if _article(candidate.document) == _article(best.document):
            continue
        value = candidate.score + 0.3 * _share(missing, set(candidate.window)) if missing else candidate.score
        if pick is None or value > pick_value:
            pick, pick_value = candidate, value
    if pick is None or pick.score < 0.5 * best.score:
        return None
    return pick


# --------------------------------------------------------------------------- shortest span

_CLAUSE_BREAK = re.compile(
    r"\s*[;:,—–]\s+(?:(?:and|but|or|while|which|who)\s+)?|"
    r"\s+(?:and|but|while|whereas|although|though|because|which|who)\s+"
)


def clauses_of(text: str) -> list[tuple[int, int]]:
    """The clauses of a sentence as (start, end) offsets, split at ``; , : —`` and conjunctions."""
    bounds = [0]
    for m in _CLAUSE_BREAK.finditer(text):
        bounds += [m.start(), m.end()]
    bounds.append(len(text))
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2) if bounds[i + 1] > bounds[i]]


def shortest_span(q: Question, candidate: Candidate) -> Candidate:
    """The shortest run of the sentence's clauses that still carries the answer, else the sentence.

    Only a sentence of over ``LONG_SENTENCE_WORDS`` words that holds an entity of the asked kind (a
    date, a number, a name) is cut: the run must hold such an entity, ``SPAN_TERM_SHARE`` of the
    question-term weight the sentence holds, and ``MIN_SPAN_WORDS`` words, so that it still reads as
    a statement. Without a typed entity the answer cannot be located inside the sentence (it is the
    part the question does not say), so the sentence is quoted whole. The span is a verbatim slice
    of the sentence, so ``start``/``end`` stay exact.
    """
    text = candidate.text
    if not (candidate.typed and q.entity_kinds) or len(_TOKEN.findall(text)) <= LONG_SENTENCE_WORDS:
        return candidate
    clauses = clauses_of(text)
    known = set(q.terms)
    needed = candidate.overlap * SPAN_TERM_SHARE
    best: tuple[int, int] | None = None
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            start, end = clauses[i][0], clauses[j][1]
            if best is not None and end - start >= best[1] - best[0]:
                break
            piece = text[start:end]
            if (
                len(_TOKEN.findall(piece)) >= MIN_SPAN_WORDS
                and _share(q.terms, stems_of(piece)) >= needed
                and typed_entities(q.entity_kinds, piece, known)
            ):
                best = (start, end)
                break
    if best is None:
        return candidate
    start, end = best
    if q.entity_kinds == ("name",):
        # A capitalised word is a loose sign of the answer: keep the clauses on either side too.
        before = [c for c in clauses if c[1] <= start]
        after = [c for c in clauses if c[0] >= end]
        start = before[-1][0] if before else start
        end = after[0][1] if after else end
    if (start, end) == (0, len(text)):
        return candidate
    piece = text[start:end].rstrip(" ,;:—–")
    return replace(
        candidate, start=candidate.start + start, end=candidate.start + start + len(piece), text=piece
    )


# --------------------------------------------------------------------------- abstention

FEATURE_NAMES = (
    "bias",
    "evidence_coverage",
    "best_sentence_overlap",
    "passage_similarity",
    "names_missing",
    "numbers_missing",
    "negation_unmatched",
    "negation_reversed",
    "antonym_swap",
    "negating_prefix",
    "type_missing",
    "order_kept",
)

# Fitted by ``python -m newsdesk.eval.calibrate /work/shared/eval/squad2-dev`` (L2-regularised logistic
# regression of "the evidence answers the question" over its 500 questions with the hybrid retriever,
# k=5; bias shifted so that the default min_score 0.40 is the point where abstentions are 80% right
# on the whole set). Held out (2-fold by article, threshold chosen on the other fold) the abstentions
# were 71% right and caught 51% of the unanswerable questions (AUC 0.72): these features cannot
# tell most of SQuAD 2.0's adversarial questions from answerable ones.
ABSTAIN_WEIGHTS_BY_NAME = {
    "bias": -2.8581,
    "evidence_coverage": 0.8133,
    "best_sentence_overlap": 0.0963,
    "passage_similarity": 3.8527,
    "names_missing": -1.9347,
    "numbers_missing": -4.9929,
    "negation_unmatched": -3.6365,
    "negation_reversed": -0.9074,
    "antonym_swap": -1.7865,
    "negating_prefix": -1.4380,
    "type_missing": -1.3522,
    "order_kept": 0.8783,
}
ABSTAIN_WEIGHTS = np.array([ABSTAIN_WEIGHTS_BY_NAME[name] for name in FEATURE_NAMES])

# Negation as the evidence may phrase it ("rather than", "failed to", "lacks").
_EVIDENCE_NEGATION = re.compile(
    _NEGATION.pattern + r"|\b(?:rather\s+than|instead\s+of|except|unable|fail(?:s|ed)?|lacks?|lacking)\b",
    re.IGNORECASE,
)
# Words that start like a negating prefix but are not negations of a word ("information").
_NOT_NEGATED = frozenset(
    """
    information inform industry include included including increase increased indicate install
    instance involve involved inside insist inspire invest intend interest internal international
    interpret introduce invent discover discuss display distance district distinct distribute
    understand undertake university union unit united universe important improve impact import
    """.split()
)
_ACRONYM_SOURCE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of\s+|the\s+|and\s+)?[A-Z][a-z]+)+")


def _initials(text: str) -> set[str]:
    """Acronyms that runs of capitalised words could stand for ("Scottish Parliament" gives "sp")."""
    found: set[str] = set()
    for m in _ACRONYM_SOURCE.finditer(text):
        words = [w for w in m.group().split() if w[0].isupper()]
        for i in range(len(words)):
            for j in range(i + 2, len(words) + 1):
                found.add("".join(w[0] for w in words[i:j]).lower())
    return found


def _near_miss(name: str, present: Iterable[str]) -> bool:
    """A name spelled one letter differently ("Zeria" for "Zeira") still counts as present."""
    if len(name) < 4:
        return False
    for other in present:
        if len(other) == len(name) and other[0] == name[0]:
            if sum(x != y for x, y in zip(name, other, strict=True)) <= 2 and sorted(name) == sorted(other):
                return True
            if sum(x != y for x, y in zip(name, other, strict=True)) <= 1:
                return True
    return False


def order_kept(q: Question, text: str) -> float:
    """Share of the question's consecutive content-word pairs that the text has in the same order.

    A question that swaps roles ("What was absorbed into X?" against "X was absorbed into Y") keeps
    the words but not their order.
    """
    sequence = [stem(t) for t in _words(q.text) if stem(t) in q.terms]
    pairs = list(itertools.pairwise(sequence))
    if not pairs:
        return 1.0
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(_words(text)):
        positions.setdefault(stem(token), []).append(i)
    kept = 0
    for first, second in pairs:
        a, b = positions.get(first), positions.get(second)
        if a and b and any(0 < y - x <= 4 for x in a for y in b):
            kept += 1
    return kept / len(pairs)


_MONTH_NAMES = "January February March April May June July August September October November December".split()


def _metadata_stems(document: Document) -> set[str]:
    """Stems of what a question may name about an article besides its text: title, outlet, date."""
    meta = document.metadata
    words = f"{meta.get('title', '')} {meta.get('source', '')}"
    published = str(meta.get("published", ""))
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", published)
    if match:
        year, month, day = match.groups()
        words += f" {published} {year} {int(day)} {int(day)}th {_MONTH_NAMES[int(month) - 1]}"
    return stems_of(words)


def compound_question(q: Question, documents: Sequence[Document]) -> bool:
    """A yes/no question, one naming two outlets, or a long one: it needs several articles."""
    return q.yes_no or len(q.terms) >= COMPOUND_TERMS or len(named_outlets(q.text, documents)) >= 2


COMPOUND_TERMS = 12  # content words from which a question is taken to combine several facts


def abstention_features(
    q: Question, chosen: Sequence[Candidate], ranked: Sequence[Candidate], documents: Sequence[Document]
) -> np.ndarray:
    """The evidence features the abstention model reads (``FEATURE_NAMES``, in order).

    The evidence is the chosen sentences with their neighbours, plus the titles, outlets and dates
    of the retrieved articles (a question may name an outlet, a headline or a day rather than the
    text). A compound question (``compound_question``) draws on several articles by design, so its
    evidence is all the retrieved passages, and the sentence-level features (overlap, word order)
    are measured on them as a whole.
    """
    best = chosen[0]
    about = set().union(*(_metadata_stems(d) for d in documents))
    compound = compound_question(q, documents)
    if compound:
        # A compound question draws on several articles by design: its evidence is all of them.
        evidence = about.union(*(stems_of(d.page_content) for d in documents))
    else:
        evidence = about.union(*(c.window for c in chosen))
    question_stems = [stem(t) for t in _words(q.text)]
    antonym = any(t not in evidence and _ANTONYMS.get(t, frozenset()) & evidence for t in question_stems)
    prefix = False
    for token in _words(q.text):
        m = _NEGATING_PREFIX.match(token)
        if (
            m
            and token.lower() not in _NOT_NEGATED
            and stem(token) not in evidence
            and stem(token[m.end() :]) in evidence
        ):
            prefix = True
            break
    missing_names = set(q.names - evidence)
    if missing_names:
        acronyms = set().union(*(_initials(c.document.page_content) for c in chosen))
        missing_names = {n for n in missing_names if n not in acronyms and not _near_miss(n, evidence)}
    evidence_negated = any(_EVIDENCE_NEGATION.search(c.text) for c in chosen)
    # A yes/no question may well be answered "no", and a compound one is checked against several
    # articles: a negation or an opposite in it proves nothing.
    swaps = 0.0 if compound else 1.0
    return np.array(
        [
            1.0,
            _share(q.terms, evidence),
            _share(q.terms, evidence) if compound else best.overlap,
            max(float(d.metadata.get("score", 0.0)) for d in documents) if documents else 0.0,
            len(missing_names) / len(q.names) if q.names else 0.0,
            len(q.numbers - evidence) / len(q.numbers) if q.numbers else 0.0,
            swaps * float(q.negated and not evidence_negated),
            swaps * float(not q.negated and bool(_NEGATION.search(best.text))),
            swaps * float(antonym),
            swaps * float(prefix),
            float(bool(q.entity_kinds) and not any(c.typed for c in chosen)),
            order_kept(q, " ".join(d.page_content for d in documents) if compound else best.text),
        ],
        dtype=np.float64,
    )


def answerable_probability(features: np.ndarray) -> float:
    """The logistic model's estimate that the evidence answers the question."""
    z = float(features @ ABSTAIN_WEIGHTS)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# --------------------------------------------------------------------------- composing


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
        also_in=also_in_of(meta),
    )


def compose(question: str, chosen: Sequence[Candidate]) -> Answer:
    """One sentence per candidate, each ending with its own marker, numbered in reading order."""
    citations = [citation_for(n, c) for n, c in enumerate(chosen, start=1)]
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question=question, answer=text, abstained=False, citations=citations)
