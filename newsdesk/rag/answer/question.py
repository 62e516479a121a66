"""Reading the question: its terms, the type of answer it wants, names, outlets, dates, claims.

Answer types follow Li & Roth's coarse classes, narrowed to what news questions ask:

========== ===================================================== ==========================
type       asked by                                              answered by
========== ===================================================== ==========================
person     who, whom, which person/individual/player/CEO ...     a name (a person's first)
org        which company/team/outlet/platform ...                a name (an organisation's)
place      where, which country/city/state ...                   a name (a place's first)
name       what is the name of, which + other noun               a name
date       when, what year/day/month                             a date or year
count      how many, what number of                              a number
money      how much (cost, pay, worth ...), what price           an amount of money
percent    what percentage, how much percent                     a percentage
duration   how long                                              a duration
quantity   how old/far/big/tall ...                              a number (with unit)
yesno      is/does/did ... ?                                     Yes or No, from the claims
choice     ... X or Y?  (consistent or inconsistent, before ...)  one of the offered options
what       what, which (no typed focus), why, how                a clause of a sentence
========== ===================================================== ==========================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsdesk.dates import MONTHS
from newsdesk.rag.answer.kinds import answered_by_place, focus_kind, focus_words, wh_frame
from newsdesk.reading.lexicon import NATIONAL_SCOPE
from newsdesk.reading.outlets import short_names
from newsdesk.reading.question_dates import named_days
from newsdesk.reading.words import READING_STOPWORDS as STOPWORDS
from newsdesk.reading.words import stem, tokens, words

FRAME_WORDS = frozenset(
    """
    type types kind kinds sort name names named called time times year years date dates day days
    percentage percent number numbers amount mean means meaning entity entities term terms word words
    example examples thing things way ways certain specific particular various article articles
    report reports reported reporting reporter piece pieces story stories source sources news
    outlet outlets publication published mention mentioned mentions say says said suggest suggests
    suggested indicate indicates indicated discuss discussed discussing describe described
    individual person company organization organisation entity
    """.split()
)
"""Words that frame a question ("what *type* of", "as *reported* by") rather than say what it is about."""

NEGATION_WORDS = frozenset(
    "not never no none neither nor without cannot nobody nothing nowhere unable fail failed fails".split()
)


NAME_TYPES = frozenset(
    {"person", "org", "place", "name", "facility", "work", "product", "event", "law", "language", "group"}
)
"""Answer types answered by a name (``kinds.KIND_FIT`` says which span kinds fit each)."""
_KIND_TYPES = {"geo": "place"}
"""A focus kind (``kinds.HEAD_KINDS``) as an answer type, where the two differ."""
NUMERIC_TYPES = frozenset({"count", "money", "percent", "duration", "quantity"})

_PERSON_NOUNS = (
    r"person|individual|man|woman|player|ceo|chief|executive|founder|co-founder|leader|president|"
    r"minister|official|author|writer|actor|actress|singer|artist|musician|coach|manager|director|"
    r"scientist|politician|judge|senator|governor|mayor|king|queen|emperor|pope|athlete|quarterback|"
    r"winner|champion|chairman|chair|spokesperson|spokesman|spokeswoman|prosecutor|lawyer|star|"
    r"head|owner|investor|entrepreneur|character|figure|composer|architect|inventor|explorer|general"
)
_ORG_NOUNS = (
    r"company|companies|firm|firms|organi[sz]ation|organi[sz]ations|team|teams|club|clubs|outlet|"
    r"network|brand|university|party|agency|band|newspaper|magazine|platform|platforms|exchange|"
    r"startup|start-up|business|businesses|corporation|bank|group|studio|publisher|retailer|airline|"
    r"manufacturer|developer|league|institution|government|department|ministry|entity|entities|"
    r"service|app|website|site|channel|network|label|school|college|court|committee|council|"
    r"news source|source|sportsbook|sportsbooks|operator"
)
_PLACE_NOUNS = (
    r"country|countries|city|cities|state|states|town|towns|region|regions|place|places|nation|nations|"
    r"continent|province|county|location|island|capital|venue|stadium|area|district|neighbou?rhood"
)

# Up to two modifiers between "which" and its noun ("which NFL team"), but not a verb or article
# ("what is the state average" asks for no place).
_FILLER = (
    r"(?:(?!(?:is|was|are|were|the|a|an|did|does|do|has|have|had|of|in|on|to|for|that|this)\b)"
    r"[\w-]+\s+){0,2}?"
)

_IS_THE = r"(?:\s+(?:is|was|are|were|will\s+be)|['’]s)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?"
"""Between "what" and the noun it asks about: "what is the (estimated) cost", "what's the deadline"."""

# (pattern, type): the rule whose match starts first in the question decides; ties go to the earlier rule.
_TYPE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:what|which|in what|in which)\s+(?:year|decade|century)s?\b", re.I), "date"),
    (re.compile(r"\b(?:what|which)\s+(?:date|day|month|time|period|era|season)\b", re.I), "date"),
    (re.compile(r"\bwhen\b", re.I), "date"),
    # "What is the official deadline ...", "What's the estimated cost ...": the noun after "what is the"
    (re.compile(rf"\bwhat{_IS_THE}(?:deadline|date|day)\b(?!-)", re.I), "date"),
    (re.compile(rf"\bwhat{_IS_THE}(?:cost|price|fee|salary|budget|value|fine|bill)\b", re.I), "money"),
    (re.compile(r"\bhow\s+many\b|\b(?:what|which)\s+(?:number|amount)\s+of\b", re.I), "count"),
    (
        re.compile(r"\b(?:what|which)\s+percentage\b|\bwhat\s+percent\b|\bhow\s+much\s+percent", re.I),
        "percent",
    ),
    (re.compile(r"\bby\s+how\s+much\b", re.I), "quantity"),  # a change: a share, a number or an amount
    (
        re.compile(
            r"\bhow\s+much\b|\b(?:what|which)\s+(?:price|cost|sum|fee|salary|budget|value|amount)\b|"
            r"\bhow\s+expensive\b|\bwhat\s+(?:did|does|do|will|would)\b[^?]*\bcost\b",
            re.I,
        ),
        "money",
    ),
    (re.compile(r"\bhow\s+long\b", re.I), "duration"),
    (
        re.compile(
            r"\bhow\s+(?:old|far|big|large|tall|high|deep|wide|fast|heavy|often|small|many\s+times)\b|"
            r"\b(?:what|which)\s+(?:size|length|height|distance|speed|temperature|population|age|score|"
            r"rate|ranking|rank|capacity)\b",
            re.I,
        ),
        "quantity",
    ),
    (re.compile(r"\b(?:who|whom|whose)\b", re.I), "person"),
    (
        re.compile(rf"\b(?:what|which)\s+{_FILLER}(?:{_PERSON_NOUNS})\b(?!\s+of\b)", re.I),
        "person",
    ),
    (re.compile(rf"\bwhere\b|\b(?:what|which)\s+{_FILLER}(?:{_PLACE_NOUNS})\b", re.I), "place"),
    (
        re.compile(rf"\b(?:what|which)\s+(?:type\s+of\s+|kind\s+of\s+)?{_FILLER}(?:{_ORG_NOUNS})\b", re.I),
        "org",
    ),
    (re.compile(r"\b(?:what|which)\s+(?:is|was|are|were)\s+the\s+(?:name|title)s?\s+of\b", re.I), "name"),
    (re.compile(r"\bwhat\s+(?:is|was)\s+(?:the\s+)?(?:name|title)\b|\bname\s+(?:of\s+)?the\b", re.I), "name"),
    (re.compile(r"\bwhat\s+(?:is|was)\s+(?:the\s+)?[\w-]+['’]s?\s+(?:name|title)\b", re.I), "name"),
    (re.compile(r"\b(?:why|how)\b", re.I), "what"),
    (re.compile(r"\b(?:what|which)\b", re.I), "what"),
]

_AUXILIARY_VERBS = "is are was were do does did has have had can could will would should might may".split()
_AUXILIARIES = frozenset(_AUXILIARY_VERBS)
"""Verbs that ask a yes/no question ("Did ...?") and end what a "how many" question counts."""
_AUXILIARY = rf"(?i:{'|'.join(_AUXILIARY_VERBS)})"
_YES_NO_START = re.compile(rf"^\s*(?:(?:and|so|but|also|then)\s+)?{_AUXILIARY}\b", re.I)
# "Between the report from X and the one from Y, is there ...?", "After X said Y, did Z ...?"
_YES_NO_LATER = re.compile(
    rf"[,;:]\s+{_AUXILIARY}\s+(?:(?i:there|the|it|this|that|these|those|both|any|all|a|an|its|his|her|their)"
    r"\b|[A-Z'‘\"])"
)
_WH_START = re.compile(r"^\s*(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_WH_AFTER_COMMA = re.compile(r"[,;:]\s+(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_CHOICE_PAIRS = (
    ("consistent", "inconsistent"),
    ("before", "after"),
    ("agree", "disagree"),
    ("similar", "different"),
    ("same", "different"),
    ("change", "consistency"),
    ("increase", "decrease"),
    ("higher", "lower"),
    ("more", "less"),
    ("earlier", "later"),
    ("true", "false"),
)
_COMPARISON = re.compile(
    r"\bboth\b|\bcompared?\s+(?:with|to)\b|\bin\s+comparison\b|\bversus\b|\bvs\.?\s|\bwhile\b|\bwhereas\b|"
    r"\b(?:same|different|differ|differs|consistent|inconsistent|consistency|agree|disagree|similar)\b",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:not(?!\s+only\b)|never|no|none|neither|nor|without|cannot|unrelated|other\s+than)\b|n[’']t\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“‘']([^\"”’']{2,80})[\"”’']")


@dataclass(frozen=True)
class Question:
    """What the reader needs to know about a question.

    ``terms`` are its content stems with weights (names and numbers 2, other words 1); ``focus`` the
    noun after which/what ("company"); ``options`` the offered answers of a choice question.
    """

    text: str
    terms: dict[str, float]
    answer_type: str
    focus: str = ""
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    negated: bool = False
    yes_no: bool = False
    options: tuple[str, ...] = ()
    comparison: bool = False
    days: tuple[str, ...] = ()
    wants_year: bool = False
    phrases: tuple[str, ...] = field(default=())
    focus_kind: str = ""
    """The kind of name the wh-phrase's head asks for (``kinds.HEAD_KINDS``: "org" for "which chain");
    empty when the head is unknown or the question asks no "which X"."""
    asked: tuple[str, ...] = ()
    """Stems of what the answer must be about: the role a "who is the ..." question asks about
    ("mayor"), the words of what a "how many" question counts ("passengers"); empty when none."""
    by_place: bool = False
    """A place name answers this organisation question (``kinds.answered_by_place``: "which team")."""
    frame: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """The stems before and after its "which/what" phrase (``kinds.wh_frame``); None without one."""

    @property
    def typed(self) -> bool:
        """True when the answer is an entity of a known kind (a name, a date, a number)."""
        return (
            self.answer_type in NAME_TYPES or self.answer_type == "date" or self.answer_type in NUMERIC_TYPES
        )


ABBREVIATIONS = (
    ("ceo", "chief executive"),
    ("cfo", "chief financial officer"),
    ("coo", "chief operating officer"),
    ("cto", "chief technology officer"),
    ("vp", "vice president"),
    ("pm", "prime minister"),
    ("us", "united states"),
    ("u.s", "united states"),
    ("uk", "united kingdom"),
    ("u.k", "united kingdom"),
    ("un", "united nations"),
    ("eu", "european union"),
    ("nfl", "national football league"),
    ("nba", "national basketball association"),
)
"""News abbreviations and what articles write out instead: a sentence saying "chief executive" also
counts as saying "CEO" (see ``candidates``)."""


def content_terms(text: str) -> dict[str, float]:
    """Question words that carry meaning, with weights: names and numbers count double."""
    terms: dict[str, float] = {}
    for i, token in enumerate(words(text)):
        lower = token.lower()
        dropped = (
            lower in STOPWORDS or lower in FRAME_WORDS or lower.endswith(("n't", "n’t")) or len(lower) < 2
        )
        if dropped and not lower.isdigit():
            continue
        capital = token[0].isupper() and (i > 0 or any(ch.isupper() for ch in token[1:]))
        weight = 2.0 if capital or token[0].isdigit() else 1.0
        key = stem(lower)
        terms[key] = max(terms.get(key, 0.0), weight)
    return terms


def answer_type(question: str) -> str:
    """The kind of answer the question wants (see the module's table)."""
    found: tuple[int, int, str] | None = None
    for order, (pattern, kind) in enumerate(_TYPE_RULES):
        match = pattern.search(question)
        if match and (found is None or (match.start(), order) < found[:2]):
            found = (match.start(), order, kind)
    return found[2] if found else "what"


def is_yes_no(question: str) -> bool:
    """True for a question answered by yes or no (an auxiliary verb asks, not a wh-word)."""
    if _YES_NO_START.search(question):
        return True
    if _WH_START.search(question):
        return False
    later = _YES_NO_LATER.search(question)
    wh = _WH_AFTER_COMMA.search(question)
    return later is not None and (wh is None or later.start() < wh.start())


def choice_options(question: str) -> tuple[str, ...]:
    """The offered answers of an "X or Y?" question ("consistent or inconsistent"), else ()."""
    text = question.strip()
    low = text.lower()
    for a, b in _CHOICE_PAIRS:
        m = re.search(rf"\b({a}|{b})\s+or\s+(?:an?\s+|the\s+)?({a}|{b})\b", low)
        if m and m.group(1) != m.group(2):
            return (m.group(1), m.group(2))
    return ()


def _names(question: str) -> frozenset[str]:
    """Stems of the capitalised words the evidence must hold, less the nation a story is set in
    (``lexicon.NATIONAL_SCOPE``)."""
    found = set()
    question = NATIONAL_SCOPE.sub(lambda m: " " * len(m.group()), question)
    for i, token in enumerate(tokens(question)):
        lower = token.lower()
        if lower in STOPWORDS or lower in FRAME_WORDS or not token[0].isupper():
            continue
        if i == 0 and not any(ch.isupper() for ch in token[1:]):
            continue  # the first word is capitalised anyway
        found.add(stem(lower))
    return frozenset(found)


def _describing(question: str) -> frozenset[str]:
    """Stems of the wh-phrase's words ("which *Middle Eastern* country", "which *NFL* team"): they
    describe the answer, so the evidence need not repeat them as it must the names the question asks
    about ("Middle Eastern" is rarely written beside "Kuwait")."""
    return frozenset(stem(w.lower()) for w in focus_words(question))


def analyse(question: str) -> Question:
    """Read a question."""
    text = " ".join(question.split())
    yes_no = is_yes_no(text)
    options = choice_options(text) if (yes_no or re.search(r"\bwhich\b", text, re.I)) else ()
    kind = "choice" if options else ("yesno" if yes_no else answer_type(text))
    head, head_kind = focus_kind(text)
    if head_kind and (kind in NAME_TYPES or kind == "what") and _which_first(text):
        kind = _KIND_TYPES.get(head_kind, head_kind)
    else:
        head_kind = ""
    wants_year = bool(re.search(r"\b(?:what|which|in what|in which)\s+year\b", text, re.I))
    return Question(
        text=text,
        terms=content_terms(text),
        answer_type=kind,
        focus=head,
        focus_kind=head_kind,
        names=_names(text) - _describing(text),
        numbers=frozenset(stem(t) for t in words(text) if t[0].isdigit()),
        negated=bool(_NEGATION.search(text)),
        yes_no=yes_no,
        options=options,
        comparison=bool(_COMPARISON.search(text)),
        days=tuple(day.iso for day in named_days(text)),
        wants_year=wants_year,
        phrases=tuple(m.group(1) for m in _QUOTED.finditer(text)),
        asked=asked_nouns(text),
        by_place=answered_by_place(text),
        frame=wh_frame(text),
    )


def _which_first(text: str) -> bool:
    """The question's first wh-word is "which"/"what" (or it asks for "the name of"): its focus decides
    the kind of answer. "Who ... which company" asks for a person still."""
    m = re.search(r"\b(?:which|what|who|whom|whose|where|when|how)\b", text, re.I)
    return bool(m and m.group().lower() in ("which", "what")) or bool(re.search(r"\bname\s+of\b", text, re.I))


_ROLE = re.compile(
    r"^\s*who\s+(?:is|was|are|were|will\s+be|has\s+been|had\s+been)\s+(?:the|a|an)\s+"
    r"(?:[a-z][\w-]*\s+){0,2}?([a-z][\w-]*)\s+(?:of|at|for|in|on|behind)\b",
    re.I,
)
_COUNTED = re.compile(r"\bhow\s+many\s+((?:[a-z][\w'’-]*\s*){1,4})", re.I)


def asked_nouns(text: str) -> tuple[str, ...]:
    """Stems of what the answer must be about: the role a "who is the ROLE of ..." question asks
    about, or the words of what a "how many THINGS ..." question counts (up to its verb). Empty when
    the question has none, or only frame words ("how many times", "who is the individual ...")."""
    m = _ROLE.search(text)
    if m:
        role = m.group(1).lower()
        # "the individual implicated in ...", "the subject of ...": these describe; they are not a role.
        found = [] if role.endswith(("ed", "ing")) or role in _PARTICIPLES else [role]
    else:
        m = _COUNTED.search(text)
        if not m:
            return ()
        found = []
        for word in m.group(1).lower().split():
            if word in _AUXILIARIES or word.endswith(("n't", "n’t")):
                break
            found.append(word)
    return tuple(stem(w) for w in found if w not in STOPWORDS and w not in FRAME_WORDS)


_PARTICIPLES = frozenset(
    "known seen shown given taken made held led run chosen named subject figure man woman one".split()
)


_OUTLET_CUE = re.compile(
    r"(?i:according\s+to|reported\s+by|published\s+(?:by|in)|(?:article|report|piece|review|story|coverage)s?"
    r"\s+(?:from|by|in)|(?:from|by|in)\s+(?:an?\s+|the\s+)?(?:article|report|piece)\s+(?:from|by|in))\s+"
    r"(?:an?\s+|the\s+)?['‘\"“]?((?:The\s+)?[A-Z][\w&.-]*(?:\s+(?:[A-Z][\w&.-]*|of|the|and|&))*)",
)
_OUTLET_BEFORE = re.compile(
    r"['‘\"“]?((?:The\s+)?[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*){0,4})['’\"”]?\s+(?:article|report|piece|review|story)\b"
)


def outlet_mentions(question: str) -> list[str]:
    """Outlet-like names the question cites ("according to Reuters", "a BBC Sport article")."""
    found = [m.group(1).strip() for m in _OUTLET_CUE.finditer(question)]
    found += [m.group(1).strip() for m in _OUTLET_BEFORE.finditer(question)]
    out = []
    for name in found:
        name = re.sub(rf"^(?:(?:The|An?|Both|{_AUXILIARY})\s+)+(?=[A-Z])", "", name).strip(" '’\"”")
        name = re.sub(r"\s+(?:and|of|the|&)$", "", name)
        if name.lower() in MONTHS or re.fullmatch(_AUXILIARY, name):
            continue
        if name and name.lower() not in STOPWORDS and len(name) >= 2:
            out.append(name)
    return list(dict.fromkeys(out))


def missing_outlets(question: str, sources: Sequence[str], evidence: str = "") -> list[str]:
    """Outlets the question cites that none of ``sources`` is (nor contains) and the evidence never names."""
    text = evidence.lower()
    missing = []
    for name in outlet_mentions(question):
        low = name.lower()
        # Written out or shortened ("Cnbc"), not without its "The": "reported by The Verge and" is
        # read as the mention "Verge and", which must not pass for The Verge.
        if any(low in s.lower() or any(n.lower() in low for n in {s, *short_names(s)}) for s in sources):
            continue
        if text and re.search(rf"(?<!\w){re.escape(low)}(?!\w)", text):
            continue
        missing.append(name)
    return missing


_NOT_SUFFIX = re.compile(r"n[’']t\b", re.I)


def is_negation(token: str) -> bool:
    """A negation word ("not", "never", "without" ...) or a contraction of "not" ("didn't")."""
    return token.lower() in NEGATION_WORDS or bool(_NOT_SUFFIX.search(token))


def negation_terms(text: str) -> set[str]:
    """The negation words of a text (lower case; a contraction of "not" counts as "not")."""
    found = {t.lower() for t in tokens(text) if t.lower() in NEGATION_WORDS}
    if _NOT_SUFFIX.search(text):
        found.add("not")
    return found
