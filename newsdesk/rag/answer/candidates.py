"""Candidates: the sentences of the retrieved passages (and their headlines), and the typed spans in them.

A ``Sentence`` is a verbatim span of one article field (``text`` or ``title``) with exact offsets,
already narrowed past Markdown heading marks and datelines (``display.shown_span``). A ``Span`` is a
candidate answer inside a sentence: a name, a date, an amount, a number ..., found by regular
expressions and capitalisation cues. (spaCy's ``en_core_web_sm`` NER was measured in its place on the 8
best sentences: 17-61 ms more per question, and lead containment went 0.727 -> 0.736 on squad2-dev
but 0.687 -> 0.659 on multihop-news, so it is not used.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as default

from langchain_core.documents import Document

from newsdesk.dates import MONTH as _MONTH
from newsdesk.dates import WEEKDAY
from newsdesk.index.entities import ENTITIES_KEY, TITLE_ENTITIES_KEY, Entity, decode
from newsdesk.rag.answer.display import is_furniture, is_heading, shown_span
from newsdesk.rag.answer.kinds import LABEL_KINDS
from newsdesk.rag.answer.question import ABBREVIATIONS, Question
from newsdesk.rag.news import RECENT_KEY
from newsdesk.reading.lexicon import NOT_NAME_WORDS as _NOT_NAME
from newsdesk.reading.lexicon import OFFICE_INSIDE_NAME as _INNER_TITLE
from newsdesk.reading.lexicon import ORGANISATION_WORDS as _ORG_WORDS
from newsdesk.reading.lexicon import PERSON_CUE as _PERSON_CUE
from newsdesk.reading.lexicon import TITLE_BEFORE_NAME as _TITLE_WORDS
from newsdesk.reading.markers import MARKER as _MARKER_LIKE
from newsdesk.reading.outlets import named_sources
from newsdesk.reading.sentences import reading_sentences as sentence_spans
from newsdesk.reading.words import READING_STOPWORDS as STOPWORDS
from newsdesk.reading.words import stem, token_spans
from newsdesk.text import fold, normalize

MIN_SENTENCE_WORDS = 3


@dataclass
class Passage:
    """One retrieved document with what the reader needs from its metadata."""

    doc: Document
    rank: int
    article: str
    source: str
    published: str
    title: str
    score: float
    hinted: float = 0.0
    """How many of the outlets/days the question names this passage matches, plus one when the
    retriever marks it ``recent`` (published in the week before the day the question is asked on,
    when the caller gives that day): 0 to 3."""
    entities: list[Entity] | None = None
    """Named entities found at index time (offsets in the article's text); None: not looked for."""
    title_entities: list[Entity] | None = None
    """Named entities of the headline (offsets in the title); None: not looked for."""


@dataclass
class Sentence:
    """A verbatim sentence of an article field, with its stems and tokens for scoring."""

    passage: Passage
    field: str
    start: int
    end: int
    text: str
    stems: frozenset[str]
    token_stems: list[str]
    token_offsets: list[tuple[int, int]]
    heading: bool = False
    window: frozenset[str] = frozenset()
    relevance: float = 0.0
    overlap: float = 0.0
    key: str = ""
    features: dict[str, float] = default(default_factory=dict)
    spans: list[Span] = default(default_factory=list)
    aliases: dict[str, list[int]] = default(default_factory=dict)
    """Token positions of abbreviations written out ("chief executive" stands at "ceo")."""
    neighbours: list[Sentence] = default(default_factory=list, compare=False, repr=False)
    """The sentences just before and after it in its passage."""
    context: float = 0.0
    """Its relevance, or more when a sentence next to it (or, for a headline, in its article) echoes
    the question: the answer is often named one sentence away from the words that echo the question."""
    context_from: Sentence | None = default(default=None, compare=False, repr=False)
    """The sentence whose relevance ``context`` carries (None: its own)."""
    furniture: bool = False
    """Page furniture ("More: ...", "Read more", a subheading that is a question, a byline, a
    caption): read for context, never quoted as an answer."""

    @property
    def words(self) -> int:
        return len(self.token_stems)


@dataclass
class Span:
    """A candidate answer: ``sentence.text[start:end]`` (offsets relative to the sentence)."""

    sentence: Sentence
    start: int
    end: int
    kind: str
    """``name``, ``person``, ``org``, ``place``, ``date``, ``year``, ``vague_date``, ``money``,
    ``percent``, ``count``, ``duration``, ``quantity``."""
    text: str
    key: str
    score: float = 0.0
    features: dict[str, float] = default(default_factory=dict)

    @property
    def article_start(self) -> int:
        return self.sentence.start + self.start

    @property
    def article_end(self) -> int:
        return self.sentence.start + self.end


# --------------------------------------------------------------------------- passages and sentences


def article_key(document: Document) -> str:
    meta = document.metadata
    return str(meta.get("article_id") or meta.get("url") or document.id or id(document))


def passages_of(question: Question, documents: Sequence[Document]) -> list[Passage]:
    """The documents as passages; ``hinted`` counts the outlets and days the question names that match,
    and the retriever's ``recent`` mark."""
    sources = [str(d.metadata.get("source", "")) for d in documents]
    named = set(named_sources(question.text, sources))
    out = []
    for rank, doc in enumerate(documents):
        meta = doc.metadata
        source = str(meta.get("source", ""))
        published = str(meta.get("published", ""))
        hinted = float(source in named)
        base = int(meta.get("start", 0) or 0)
        body = decode(meta.get(ENTITIES_KEY))
        if published and any(published.endswith(day) or published == day for day in question.days):
            hinted += 1.0
        hinted += float(bool(meta.get(RECENT_KEY)))
        out.append(
            Passage(
                doc=doc,
                rank=rank,
                article=article_key(doc),
                source=source,
                published=published,
                title=str(meta.get("title", "") or "").strip(),
                score=float(meta.get("score", 0.0) or 0.0),
                hinted=hinted,
                entities=None if body is None else [(a + base, b + base, label) for a, b, label in body],
                title_entities=decode(meta.get(TITLE_ENTITIES_KEY)),
            )
        )
    return out


def _make_sentence(
    passage: Passage, field_name: str, base: int, text: str, s: int, e: int
) -> Sentence | None:
    s, e = shown_span(text, s, e)
    piece = text[s:e]
    spans = token_spans(piece)
    if len(spans) < MIN_SENTENCE_WORDS and field_name == "text":
        return None
    if _MARKER_LIKE.search(piece):
        return None
    token_stems = [stem(t) for _, _, t in spans]
    lowered = piece.lower()
    extra: set[str] = set()
    aliases: dict[str, list[int]] = {}
    for abbr, phrase, pattern in _ABBREVIATION_PATTERNS:
        if phrase not in lowered:
            continue
        for m in pattern.finditer(lowered):
            first = next((i for i, (a, _, _) in enumerate(spans) if a >= m.start()), None)
            if first is not None:
                extra.add(stem(abbr))
                aliases.setdefault(stem(abbr), []).append(first)
    hyphen_parts = {stem(p) for _, _, t in spans if "-" in t for p in t.split("-") if p}
    heading = is_heading(text, *_line_of(text, s)) or (bool(passage.title) and piece == passage.title)
    return Sentence(
        passage=passage,
        field=field_name,
        start=base + s,
        end=base + e,
        text=piece,
        stems=frozenset(token_stems) | hyphen_parts | extra,
        token_stems=token_stems,
        token_offsets=[(a, b) for a, b, _ in spans],
        heading=heading,
        key=sentence_key(piece),
        aliases=aliases,
        furniture=field_name == "text" and (is_furniture(text, s, e) or _ASKS.search(piece) is not None),
    )


_ASKS = re.compile(r"\?[\"”’')]*$")
"""A sentence that asks (a quiz line, a rhetorical question) states no answer: never quoted as one."""

_ABBREVIATION_PATTERNS = [
    (abbr, phrase, re.compile(rf"\b{re.escape(phrase)}\b")) for abbr, phrase in ABBREVIATIONS
]
_KEY_WORD = re.compile(r"\w+")


def sentence_key(text: str) -> str:
    """How duplicate sentences are recognised: lower-cased words, punctuation and spacing ignored."""
    return " ".join(_KEY_WORD.findall(text.lower()))


def _line_of(text: str, position: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return start, len(text) if end < 0 else end


def sentences_of(passages: Sequence[Passage]) -> list[Sentence]:
    """Every sentence of every passage once (overlapping chunks share sentences), plus headlines.

    A headline that the passages do not hold as a heading line becomes a sentence of the ``title``
    field (offsets into the title), once per article.
    """
    seen: set[tuple[str, str, int]] = set()
    out: list[Sentence] = []
    titled: set[str] = set()
    for passage in passages:
        text = passage.doc.page_content
        base = int(passage.doc.metadata.get("start", 0) or 0)
        mine: list[Sentence] = []
        for s, e in sentence_spans(text):
            sentence = _make_sentence(passage, "text", base, text, s, e)
            if sentence is None:
                continue
            key = (passage.article, "text", sentence.start)
            if key in seen:
                continue
            seen.add(key)
            mine.append(sentence)
            if sentence.heading:
                titled.add(passage.article)
        for i, sentence in enumerate(mine):
            sentence.neighbours = [mine[j] for j in (i - 1, i + 1) if 0 <= j < len(mine)]
            sentence.window = sentence.stems.union(*(n.stems for n in sentence.neighbours))
        out.extend(mine)
    for passage in passages:
        if passage.title and passage.article not in titled:
            titled.add(passage.article)
            sentence = _make_sentence(passage, "title", 0, passage.title, 0, len(passage.title))
            if sentence is not None:
                sentence.heading = True
                sentence.window = sentence.stems
                out.append(sentence)
    return out


# --------------------------------------------------------------------------- typed spans

_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|million|billion|dozen|dozens|hundreds|thousands|millions|billions)"
)
_NUM = rf"(?:\d[\d,]*(?:\.\d+)?|{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*)"
_SHAPE_OF = {
    "date": re.compile(
        rf"\b(?:\d{{3,4}}s?|{_MONTH}|{WEEKDAY}|spring|summer|autumn|"
        r"fall|winter|centur(?:y|ies)|decades?|ago|yesterday|today|tomorrow|eras?|noon|midnight|morning|"
        r"afternoon|evening|night)\b|\d(?:st|nd|rd|th)\b|\d\s?[ap]\.?m\b|\d:\d\d",
        re.I,
    ),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORD}|half|quarter|third|none|no|single|double|twice)\b", re.I),
}


def may_state(answer_type: str, text: str) -> bool:
    """Whether the text has anything of the shape a date or a number must have (a year, a month, a
    weekday, a digit, a number word): a looser test than the typed spans, so that a sentence the span
    patterns miss ("normally at 5 pm") is not taken for one that cannot answer."""
    shape = _SHAPE_OF["date" if answer_type == "date" else "number"]
    return bool(shape.search(text))


_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|bn|mn|m|k)\b)?"
_UNITS_OF_TIME = (
    r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century|seasons?)"
)

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "date",
        re.compile(
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?\b|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?"
            rf"(?:,?\s+\d{{4}})?\b|\b(?:(?:early|mid|late|the\s+end\s+of|spring|summer|fall|autumn|winter)"
            rf"[\s-]+)?{_MONTH}\s+\d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|"
            r"\b(?:early|mid|late)[\s-](?:19|20)\d\d\b|\b(?:spring|summer|fall|autumn|winter)\s+(?:of\s+)?(?:19|20)\d\d\b|"
            r"\b(?:Q[1-4]|first|second|third|fourth)\s+quarter\s+(?:of\s+)?(?:19|20)\d\d\b"
        ),
    ),
    (
        "money",
        re.compile(
            rf"(?:(?<![\w$£€¥₹])(?:US|A|C|NZ|HK)?[$£€¥₹]|\b(?:USD|EUR|GBP|Rs\.?)\s?)\s?\d[\d,]*(?:\.\d+)?{_SCALE}|"
            rf"\b\d[\d,]*(?:\.\d+)?{_SCALE}\s?(?:dollars|pounds|euros|yen|rupees|yuan|francs|cents|pence|crore|lakh)\b",
            re.I,
        ),
    ),
    ("percent", re.compile(r"\b\d[\d.,]*\s?(?:%|percent\b|per\s?cent\b)|(?<![\w.])\.\d+\s?%", re.I)),
    ("duration", re.compile(rf"\b(?:{_NUM}|a|an|several|few)[\s-]+{_UNITS_OF_TIME}\b(?!-old)", re.I)),
    ("year", re.compile(r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b\d{1,2}(?:st|nd|rd|th)\s+century\b", re.I)),
    (
        "vague_date",
        re.compile(
            rf"\b{WEEKDAY}(?:\s+(?:night|morning|afternoon|evening))?\b|"
            rf"\b(?:yesterday|today|tomorrow|tonight)\b|\b(?:next|last|this)\s+(?:week|month|year|spring|summer|"
            rf"fall|autumn|winter|season)\b|\b{_MONTH}(?=[\s,.]|$)",
        ),
    ),
    (
        "quantity",
        re.compile(
            rf"\b{_NUM}(?:[\s-](?:year|month|week|day)s?-old)\b|\b\d[\d,.]*\s?(?:km|kilometres?|kilometers?|miles?|"
            r"metres?|meters?|feet|ft|inches|kg|kilograms?|pounds|lbs|tons?|tonnes?|mph|km/h|degrees|°[CF]?|"
            r"megawatts?|MW|GW|gigawatts?|acres?|hectares?|square\s+(?:miles|kilometres|feet))\b",
            re.I,
        ),
    ),
    ("count", re.compile(rf"\b{_NUM}(?:\s(?:million|billion|trillion|thousand))?\b(?!\s?%)", re.I)),
]
PRECEDENCE = ("date", "money", "percent", "duration", "quantity", "year", "vague_date", "count")

_NAME_TOKEN = r"(?:[A-Z][\w’'&.-]*[\w]|[A-Z]\.?|[a-z]+[A-Z][\w-]*)"
_CONNECT = r"(?:\s+(?:of|de|da|del|der|van|von|la|le|du|al|bin|y|for|&)\s+|\s*&\s*|[\s-])"
_NAME = re.compile(
    rf"{_NAME_TOKEN}(?:{_CONNECT}{_NAME_TOKEN})*(?:\s+(?:\d+[A-Za-z]*(?![\w-])|I{{1,3}}|IV|V|Jr\.?|Sr\.?))?"
)
_PERSON_AFTER = re.compile(
    r"^(?:,?\s+(?:said|says|told|added|wrote|who|explained|noted|argued|admitted|"
    r"testified|claimed|insisted|announced|won|defeated|beat|\(\d+\)|,\s+\d+,))"
)
_PERSON_SAYS = re.compile(
    r"^,?\s+(?:said|says|told|added|explained|wrote|argued|noted)\b|^,\s+(?:an?\s+)?\d+-year-old\b|"
    r"^,\s+\d{1,3},|^,\s+(?:an?|the)\s+[a-z]+"
    r"(?:\s+[a-z]+)?\s+(?:master|player|coach|executive|director|founder|officer|member|leader)\b"
)
_EVENT_WORDS = frozenset(
    """
    exhibition expo festival championship championships cup games olympics awards award summit
    conference tournament open marathon fair show week
    """.split()
)
_MODEL_NAME = re.compile(r"(?=[^\d]*[A-Za-z])(?=.*\d)(?!(?:1[5-9]|20)\d\ds?$)[A-Z][\w-]*(?:\s[\w-]+){0,2}")
"""A product's model name: a capitalised word with a number in it or after it ("Su-57", "iPhone 16",
"Boeing 737"), not a year."""
PLACE_CUE = re.compile(r"\b(?:in|at|from|near|to|into|across|outside|inside|throughout)\s+(?:the\s+)?$")
"""A preposition of place right before a name: "won in Miami" says where, not who."""
_PLACE_WORDS = frozenset(
    "city county state province river lake mountain island street avenue park bay valley district".split()
)


def _strip_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading article/stopword, question word, auxiliary or contraction ("Is Rite Aid closing
    ...?" in a headline, "It's Sweden's seventh win") or title ("CEO", "President") and a trailing
    possessive."""
    piece = text[start:end]
    m = re.match(
        r"(?:(?:The|A|An|This|That|These|Those|His|Her|Their|Its|Our|But|And|In|On|At|For|As"
        r"|Is|Are|Was|Were|Will|Would|Can|Could|Should|Does|Do|Did|Has|Have|Had"
        r"|How|What|Why|When|Where|Who|Which|(?:It|That|There|Here|What|Who|He|She)['’]s)\s+)+",
        piece,
    )
    if m and m.end() < len(piece):
        start += m.end()
        piece = text[start:end]
    m = _TITLE_WORDS.match(piece)
    if m and m.end() < len(piece):
        start += m.end()
        piece = text[start:end]
    m = re.search(r"(?:['’]s|['’])$", piece)
    if m:
        end -= len(m.group())
    return start, end


def capitalised_inside(texts: Sequence[str]) -> set[str]:
    """Words written with a capital letter somewhere other than a sentence's start: names, not mere
    sentence openers ("Instead", "Starting")."""
    seen: set[str] = set()
    for text in texts:
        for m in re.finditer(r"(?<=[a-z0-9,;:)’'\"] )([A-Z][\w’'.&-]*)", text):
            seen.add(m.group(1).lower().strip(".’'"))
    return seen


def _title_case(text: str) -> bool:
    """A headline in Title Case (most words capitalised), where capitals do not mark names."""
    toks = [t for t in text.split() if t[:1].isalpha() and t.lower() not in STOPWORDS]
    return len(toks) >= 4 and sum(t[0].isupper() for t in toks) >= 0.8 * len(toks)


def name_spans(text: str, names_seen: set[str] | None = None) -> list[tuple[int, int, str]]:
    """Capitalised name spans with a guessed kind: ``person``, ``org``, ``place`` or ``name``.

    ``names_seen`` (from ``capitalised_inside``): a sentence's first word, or any word of a Title Case
    headline, counts as a name only if it is also written with a capital elsewhere.
    """
    found: list[tuple[int, int, str]] = []
    title_case = _title_case(text)
    for m in _NAME.finditer(text):
        start, end = _strip_name(text, m.start(), m.end())
        piece = text[start:end]
        parts = piece.replace("-", " ").split()
        if not parts:
            continue
        lowered = [p.lower().strip(".’'") for p in parts]
        if all(p in _NOT_NAME or p in STOPWORDS for p in lowered):
            continue
        if names_seen is not None and (title_case or start == 0):
            keep = [i for i, p in enumerate(lowered) if p in names_seen or (i > 0 and not title_case)]
            if len(parts) >= 2 and not title_case and lowered[0] not in STOPWORDS | _NOT_NAME:
                keep = list(range(len(parts)))  # "Ethan Okafor, an 11-year-old ...": a full name opens
            if not keep:
                # A capitalised opener seen nowhere else may still be a name ("Pawiak, an infamous ..."):
                # kept, but as a weak candidate.
                if start == 0 and not title_case and lowered[0] not in STOPWORDS | _NOT_NAME:
                    found.append((start, end, "opener"))
                continue
            first_word = piece.split()[0]
            if keep[0] > 0 and "-" in first_word and piece.find(parts[keep[0]]) < len(first_word):
                keep = list(range(len(parts)))  # "In-N-Out Burger": a hyphenated name is not cut
            if keep[0] > 0:
                start += piece.find(parts[keep[0]])
                piece = text[start:end]
                parts, lowered = parts[keep[0] :], lowered[keep[0] :]
        if start == 0 and len(parts) == 1 and lowered[0] in STOPWORDS | _NOT_NAME:
            continue
        if lowered[0] in _NOT_NAME and len(parts) > 1 and "-" not in piece.split()[0]:
            # "However Google" / "But Apple": drop the first word
            cut = piece.find(parts[1])
            start += cut
            piece = text[start:end]
            parts, lowered = parts[1:], lowered[1:]
        if len(piece) < 2 or piece.isdigit():
            continue
        inner = _INNER_TITLE.search(piece)
        if inner and inner.start() > 0:
            # "Russian Security Council Secretary Sergei Shoigu": an organisation, then a person.
            found.append((start + inner.end(), end, "person"))
            end = start + inner.start()
            piece = text[start:end].rstrip()
            end = start + len(piece)
            parts = piece.replace("-", " ").split()
            lowered = [p.lower().strip(".’'") for p in parts]
            if not parts:
                continue
        before = text[max(0, start - 40) : start]
        titled = start > m.start() and bool(_TITLE_WORDS.match(text[m.start() : end]))
        after = text[end : end + 30]
        kind = "name"
        if (
            titled
            or _PERSON_CUE.search(before)
            or _PERSON_SAYS.match(after)
            or (len(parts) >= 2 and _PERSON_AFTER.match(after))
        ):
            kind = "person"
        elif lowered[-1] in _EVENT_WORDS:
            kind = "event"
        elif _MODEL_NAME.fullmatch(piece):
            kind = "product"
        elif lowered[-1] in _ORG_WORDS or (piece.isupper() and len(piece) >= 2 and "." not in piece):
            kind = "org"
        elif (
            lowered[-1] in _PLACE_WORDS
            or PLACE_CUE.search(before)
            or re.match(r",\s+[A-Z][a-z]+\b(?!\s+[A-Z])", after)
        ):
            kind = "place"
        found.append((start, end, kind))
    return found


def typed_spans(text: str) -> list[tuple[int, int, str]]:
    """Dates, amounts, percentages, durations, quantities, years and counts; a span has one kind."""
    taken: list[tuple[int, int]] = []
    out: list[tuple[int, int, str]] = []
    by_kind = dict(PATTERNS)
    for kind in PRECEDENCE:
        for m in by_kind[kind].finditer(text):
            s, e = m.start(), m.end()
            piece = text[s:e].strip()
            if not piece or any(s < b and a < e for a, b in taken):
                continue
            if kind == "count" and piece.lower() in ("one", "a", "an"):
                continue
            taken.append((s, e))
            out.append((s, e, kind))
    return out


def spans_of(
    sentence: Sentence,
    names_seen: set[str] | None = None,
    kinds: str = "all",
) -> list[Span]:
    """The candidate spans of a sentence.

    ``kinds``: ``"all"``, ``"names"`` (a who/which/where question: numbers and dates are not looked
    for) or ``"numbers"`` (a when/how much/how many question: names are not looked for).
    """
    text = sentence.text
    raw = typed_spans(text) if kinds != "names" else []
    names = name_spans(text, names_seen) if kinds != "numbers" else []
    recognised = entity_spans(sentence) if kinds != "numbers" else None
    if recognised is not None:
        # Named entities found at index time decide names; a capitalised name they missed still
        # counts, but only as a name of unknown kind.
        names = merge_names(text, recognised, names)
    if kinds != "numbers":
        names += [x for x in quoted_titles(text) if not any(a <= x[0] and x[1] <= b for a, b, _ in names)]
    numeric = [(s, e) for s, e, _ in raw]
    raw += [(s, e, k) for s, e, k in names if not any(a <= s and e <= b for a, b in numeric)]
    out = []
    for s, e, kind in raw:
        piece = text[s:e]
        key = candidate_key(piece)
        if key:
            out.append(Span(sentence, s, e, kind, piece, key))
    return out


_QUOTED_TITLE = re.compile(r"[“\"‘]([A-Z0-9][^“”\"\n]{0,60}?)[”\"’](?!\w)")
MAX_TITLE_WORDS = 8


def quoted_titles(text: str) -> list[tuple[int, int, str]]:
    """Short capitalised phrases in quotes, as news writes the titles of shows, films, books and
    songs ("the film “Everything Everywhere All at Once”"): kind ``quoted``. A quoted remark (ending
    in a comma or full stop, or mostly lower case) is not a title."""
    out = []
    for m in _QUOTED_TITLE.finditer(text):
        piece = m.group(1)
        words = piece.split()
        if not words or len(words) > MAX_TITLE_WORDS or piece[-1] in ",.;:!?":
            continue
        capitals = sum(w[0].isupper() or w[0].isdigit() for w in words)
        if capitals < max(1, (len(words) + 1) // 2):
            continue
        out.append((m.start(1), m.end(1), "quoted"))
    return out


_JOINER = re.compile(r"\s(?:of|for|and|&|de|la|van|von|the)\s", re.I)


def merge_names(
    text: str, recognised: list[tuple[int, int, str]], patterned: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Named entities first; a capitalised name that holds one of them whole and is longer ("In-N-Out
    Burger" around the recogniser's "Burger"), without joining it to another word by "of", "for",
    "and" ("Congress for TikTok"), replaces it with its kind; a name they missed altogether counts
    only as a name of unknown kind."""
    out = list(recognised)
    for s, e, kind in patterned:
        inside = [x for x in out if s <= x[0] and x[1] <= e]
        crossing = [x for x in out if x[0] < e and s < x[1] and x not in inside]
        if crossing:
            continue
        if inside:
            (a, b, label), *more = inside
            outside = text[s:a] + " " + text[b:e]
            if not more and (e - s) > (b - a) and not _JOINER.search(f" {outside} "):
                out = [x for x in out if x not in inside] + [(s, e, label)]
            continue
        out.append((s, e, kind if kind in ("opener", "product", "event") else "name"))
    return sorted(out)


def entity_spans(sentence: Sentence) -> list[tuple[int, int, str]] | None:
    """The named entities inside a sentence (offsets relative to it) as span kinds
    (``kinds.LABEL_KINDS``), a leading "the" and a trailing possessive left out; None when its passage
    was indexed without them."""
    passage = sentence.passage
    found = passage.title_entities if sentence.field == "title" else passage.entities
    if found is None:
        return None
    out = []
    for start, end, label in found:
        kind = LABEL_KINDS.get(label)
        if kind is None or start < sentence.start or end > sentence.end:
            continue
        s, e = start - sentence.start, end - sentence.start
        piece = sentence.text[s:e]
        if not any(ch.isalnum() for ch in piece):
            continue
        lead = re.match(r"(?:the|The|THE)\s+", piece)
        if lead and lead.end() < len(piece):
            s += lead.end()
        tail = re.search(r"(?:['’]s|['’])$", sentence.text[s:e])
        if tail:
            e -= len(tail.group())
        if e > s:
            out.append((s, e, kind))
    return out


def candidate_key(text: str) -> str:
    """How spans are grouped when votes are counted: normalised, without a leading "the"."""
    key = normalize(fold(text))
    key = re.sub(r"^(?:the|a|an)\s+", "", key)
    key = re.sub(r"\s+s$", "", key)
    return key


def idf(n: int, df: int) -> float:
    return math.log(1.0 + n / (1.0 + df))
