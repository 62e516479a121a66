"""Yes/no and "X or Y" questions: check each claim against the articles the question names.

A yes/no question about news usually bundles claims about named reports ("Does the TechCrunch
article suggest A, while The Verge reports B?"). The question is split into one claim per outlet it
names; each claim is checked against the retrieved passages of that outlet (of the day it names,
when it names one), or against all passages when it names none:

* **support**: the share of the claim's words, weighted by rarity among the retrieved sentences,
  that the claim's evidence holds. A claim whose distinctive words its article does not hold is
  not supported: a question that slips in a false detail ("a magic 8-ball") is answered "No".
* **negation**: a claim that says "not", "without", "fail to", "unrelated", "other than" ... while
  its evidence says nothing of the kind is contradicted, and vice versa.
* **relation**: a question that asks whether reports are *inconsistent* (contradict, disagree,
  discrepancy) is answered "Yes" only if one report negates what the other says; one that asks
  whether they are *consistent* needs every claim supported.

The answer is "Yes" when every claim is supported and none is contradicted, else "No". The evidence
cited is the best sentence of each claim. "X or Y" questions (consistent or inconsistent, before or
after, agree or disagree) map onto the same checks, or onto the articles' dates for before/after.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsdesk.dates import CALENDAR_WORDS
from newsdesk.rag.answer.candidates import Passage, Sentence
from newsdesk.rag.answer.question import Question, negation_terms
from newsdesk.rag.answer.spans import term_weights
from newsdesk.reading.outlets import source_mentions
from newsdesk.reading.question_dates import named_days
from newsdesk.reading.words import READING_STOPWORDS as STOPWORDS
from newsdesk.reading.words import share, stem, words

SUPPORT_THRESHOLD = 0.0
"""A claim is supported when its best sentence (with neighbours) holds at least this share of its
rarity-weighted words; the fitted value is ``yesno.support_threshold`` in ``data/reader.json``."""

_NEGATING = re.compile(
    r"\b(?:not|no|never|without|neither|nor|unrelated|other\s+than|exclude[sd]?|excluding|lacks?|lacking|"
    r"fail(?:s|ed)?\s+to|absence|absent|instead\s+of|rather\s+than|deny|denie[sd]|refuse[sd]?)\b|n[’']t\b",
    re.IGNORECASE,
)
_INCONSISTENT = re.compile(
    r"\b(?:inconsisten\w*|discrepanc(?:y|ies)|contradict(?:s|ed|ion|ory)?|disagree(?:s|d|ment)?|"
    r"conflict(?:s|ing)?)\b",
    re.IGNORECASE,
)
_CONSISTENT = re.compile(r"\b(?:consisten(?:t|cy)|agree(?:s|d)?|align(?:s|ed)?|same|similar(?:ly)?)\b", re.I)


@dataclass
class Claim:
    """What the question says one report (or the articles at large) states."""

    text: str
    source: str | None
    terms: dict[str, float]
    support: float = 0.0
    negated: bool = False
    evidence: list[Sentence] = field(default_factory=list)
    contradicted: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """The decision, its evidence (best sentence per claim) and the weakest claim's support."""

    yes: bool
    evidence: list[Sentence] = field(default_factory=list)
    support: float = 0.0
    claims: list[Claim] = field(default_factory=list)
    reason: str = ""


def split_claims(q: Question, passages: Sequence[Passage]) -> list[Claim]:
    """One claim per mention of an outlet the question names (the text up to the next mention)."""
    marks = source_mentions(q.text, [p.source for p in passages])
    if not marks:
        return [Claim(q.text, None, {})]
    # The text before the first mention ("Does the", "Between the report from") belongs to the first claim.
    claims = []
    for i, (start, source) in enumerate(marks):
        begin = 0 if i == 0 else start
        end = marks[i + 1][0] if i + 1 < len(marks) else len(q.text)
        claims.append(Claim(q.text[begin:end], source, {}))
    return claims


def _outlet_stems(passages: Sequence[Passage]) -> set[str]:
    out: set[str] = set()
    for p in passages:
        out |= {stem(w) for w in words(p.source)}
    return out


_QUALIFIERS = frozenset(
    """
    never always completely complete entirely identical identically solely exclusively totally fully
    absolutely unanimously universally guaranteed guarantee entire sole
    """.split()
)
"""Absolute words that change a claim's truth: unless the evidence says them too, the claim is not
supported."""

_ANTONYM_PAIRS = """
increase decrease increased decreased rise fall rose fell higher lower high low more less most least
better worse best worst improve worsen improved worsened gain loss win lose won lost beat lost victory defeat
success failure succeed fail positive negative strong weak stronger weaker support oppose supported opposed
agree disagree accept reject accepted rejected approve reject approved rejected allow ban allowed banned
open close opened closed start end started ended begin end before after early late earlier later first last
cheap expensive cheaper pricier profit loss profitable unprofitable up down bullish bearish include exclude
included excluded legal illegal public private rich poor increase reduce raised cut hike cut hikes cuts
praise criticize praised criticized confirm deny confirmed denied effective ineffective easy difficult
""".split()


def _antonyms() -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = {}
    for x, y in zip(_ANTONYM_PAIRS[::2], _ANTONYM_PAIRS[1::2], strict=True):
        pairs.setdefault(stem(x), set()).add(stem(y))
        pairs.setdefault(stem(y), set()).add(stem(x))
    return {k: frozenset(v) for k, v in pairs.items()}


ANTONYMS = _antonyms()

RELATION_WORDS = frozenset(
    stem(w)
    for w in """
    consistent consistency inconsistent inconsistency change changed changes remain remained remains similar
    similarly same different difference differ differs compared comparison compare agree agrees align aligned
    portrayal portray portrayed portrays depict depicted depicts depiction highlight highlighted highlights
    detail detailed details detailing focus focused focuses coverage covered claim claims claimed
    imply implies
    implied attribute attributes attributed regarding concerning both another latter former subsequent
    previous earlier later after before between report reported reports article articles publish published
    source news state states stated mention mentioned consider considered assessment assess narrative
    information identically indicate indicated suggest suggested describe described discuss discussed
    """.split()
)
"""Words that relate reports to each other rather than say what a report says: not looked for in the
evidence."""
_CALENDAR = re.compile(
    rf"^(?:{'|'.join(sorted(CALENDAR_WORDS))}|\d{{1,2}}(?:st|nd|rd|th)?|(?:19|20)\d\d|\d\d:\d\d)$"
)
_ADJECTIVE = re.compile(r"(?:able|ible|ant|ent|ful|ive|ous|ary|ed|ly|al|ic)$")
_NEGATING_PREFIX = re.compile(r"^(?:un|in|im|ir|il|dis|non-?|anti-?|mis)(?=[a-z]{5})")
_NOT_NEGATED = frozenset(
    """
    information inform informed industry industrial include included includes including increase increased
    increasing indicate indicated indicates indicating install installed instance involve involved involves
    involving inside insist insisted inspire inspired invest invested investment investments
    investor investors
    intend intended interest interested interests internal international internet interpret interview
    interviews introduce introduced invent invented discover discovered discuss discussed
    discussing discussion
    display distance district distinct distribute distributed distribution understand understood undertake
    university union unit united universe universal important importance improve improved improvement impact
    impacts impacted import imports imported implement implemented implementation imply implies implied
    insight insights inning innings initial initially initiative initiatives injury injuries injured inflation
    income inning innovation innovative instead integration intelligence interesting input inquiry insurance
    invasion inventory invitation invite invited ireland israel image images imagine immediate immediately
    immigration imposed impose impressive impression image illustrate disney dispute display
    disclose disclosed
    disclosure discount discounts dismissed distribute district discipline disease diseases disaster
    involvement influence influenced influences influencing individual individuals incentive
    incentives interactive internal interval intellectual industrial
    international mission missile miss missed mistake misinformation undergo underwent underline
    """.split()
)
NEGATION_SCOPE = 4
"""Words after a negation ("not", "never", "fail to" ...) that it applies to."""


def negation_scope(text: str) -> tuple[set[str], set[str]]:
    """(stems inside the scope of a negation, stems outside any) of ``text``'s content words."""
    inside: set[str] = set()
    outside: set[str] = set()
    spans = [(m.start(), m.end()) for m in _NEGATING.finditer(text)]
    toks = list(re.finditer(r"[A-Za-z0-9][\w'’-]*", text))
    for _i, tok in enumerate(toks):
        word = tok.group().lower()
        if word in STOPWORDS:
            continue
        st = stem(word)
        negated = False
        for _a, b in spans:
            if b <= tok.start():
                between = [
                    t for t in toks if b <= t.start() < tok.start() and t.group().lower() not in STOPWORDS
                ]
                if len(between) < NEGATION_SCOPE:
                    negated = True
        (inside if negated else outside).add(st)
    return inside, outside


def check_claims(q: Question, passages: Sequence[Passage], sentences: Sequence[Sentence]) -> list[Claim]:
    """Support, negation, qualifiers, antonyms and evidence of every claim of the question."""
    rarity = term_weights(q, sentences)
    outlets = _outlet_stems(passages)
    claims = split_claims(q, passages)
    for claim in claims:
        claim_stems = {stem(w) for w in words(claim.text) if not _CALENDAR.match(w.lower())}
        claim.terms = {
            t: w
            for t, w in rarity.items()
            if t in claim_stems and t not in outlets and t not in RELATION_WORDS
        }
        own = [s for s in sentences if claim.source is None or s.passage.source == claim.source]
        days = [day.iso for day in named_days(claim.text)]
        if claim.source is not None and days:
            dated = [s for s in own if any(s.passage.published.endswith(d[-5:]) for d in days)]
            own = dated or own
        if not own or not claim.terms:
            claim.support = 0.0 if claim.terms else 1.0
            continue
        evidence_stems = set().union(*(s.stems for s in own))
        claim.support = max(share(claim.terms, s.window) for s in own)
        ranked = sorted(own, key=lambda s: (share(claim.terms, s.window), s.relevance), reverse=True)
        claim.evidence = ranked[:1]
        claim.negated = bool(_NEGATING.search(claim.text))
        claim.problems = _problems(claim, own, evidence_stems)
        claim.contradicted = bool(claim.problems)
    return claims


def _problems(claim: Claim, own: Sequence[Sentence], evidence_stems: set[str]) -> list[str]:
    """Why the claim's evidence contradicts it (empty when nothing does)."""
    problems = []
    inside, _ = negation_scope(claim.text)
    scope = {
        t for t in inside if t in claim.terms or (t not in STOPWORDS and len(t) > 2 and t in RELATION_WORDS)
    }
    if scope:
        asserted = set()
        for s in own:
            negated_here, plain = negation_scope(s.text)
            asserted |= plain - negated_here
        if scope & asserted:
            problems.append("negated in the question, stated in the article")
    for token in words(claim.text):
        m = _NEGATING_PREFIX.match(token.lower())
        base = token.lower()[m.end() :] if m else ""
        if (
            m
            and token.islower()
            and token.lower() not in _NOT_NEGATED
            and stem(token) not in evidence_stems
            and stem(token) not in RELATION_WORDS
            and (stem(base) in evidence_stems or _ADJECTIVE.search(base))
        ):
            problems.append(f"'{token}' (a negated word) is not in the article")
            break
    low = claim.text.lower()
    for word in _QUALIFIERS:
        if re.search(rf"\b{word}\b", low) and stem(word) not in evidence_stems:
            problems.append(f"'{word}' is not in the article")
            break
    for t in claim.terms:
        if t in evidence_stems:
            continue
        opposite = ANTONYMS.get(t, frozenset()) & evidence_stems
        if opposite and not any(o in claim.terms for o in opposite):
            problems.append(f"the article says the opposite ({sorted(opposite)[0]})")
            break
    return problems


def decide(
    q: Question,
    passages: Sequence[Passage],
    sentences: Sequence[Sentence],
    support_threshold: float = SUPPORT_THRESHOLD,
) -> Verdict:
    """Yes when every claim is supported (``support_threshold``) and none contradicted, else No."""
    claims = check_claims(q, passages, sentences)
    evidence: list[Sentence] = []
    for claim in claims:
        for s in claim.evidence:
            if s not in evidence:
                evidence.append(s)
    if not evidence:
        ranked = sorted(sentences, key=lambda s: s.relevance, reverse=True)
        evidence = ranked[:1]
    weakest = min((c.support for c in claims), default=0.0)
    order = _date_order(q, claims)
    if order is not None:
        return Verdict(
            order, evidence, weakest, claims, "the articles' dates " + ("agree" if order else "disagree")
        )
    problems = [p for c in claims for p in c.problems]
    if problems:
        return Verdict(False, evidence, weakest, claims, problems[0])
    if _INCONSISTENT.search(q.text) and not _negation_differs(claims):
        return Verdict(
            False, evidence, weakest, claims, "asked for an inconsistency; the reports do not contradict"
        )
    if weakest < support_threshold:
        return Verdict(False, evidence, weakest, claims, "a claim is not supported by its article")
    return Verdict(True, evidence, weakest, claims, "every claim is supported")


_ORDER_WORD = re.compile(r"\b(before|after|earlier\s+than|later\s+than|prior\s+to|following)\b", re.I)


def _date_order(q: Question, claims: Sequence[Claim]) -> bool | None:
    """For "Did A report X before B reported Y?": whether A's article is dated before (after) B's.

    Applies when the order word stands between the first two claims (a leading "After A reported ...,"
    is a premise, not the question) and both claims' evidence carries a date; else None.
    """
    if len(claims) < 2 or not all(c.evidence and c.evidence[0].passage.published for c in claims[:2]):
        return None
    first, second = claims[0], claims[1]
    start = q.text.find(second.text)
    m = None
    for m in _ORDER_WORD.finditer(q.text):
        if m.start() < start and m.start() > len(first.text) // 3:
            break
    else:
        return None
    if m is None or re.match(r"\s*(?:before|after|following|prior)\b", q.text, re.I):
        return None
    # The order word must sit in the first claim's text, after its outlet (the relation between the two).
    if not first.text.strip() or m.start() >= len(q.text) or q.text.find(first.text) > m.start():
        return None
    a, b = first.evidence[0].passage.published[:10], second.evidence[0].passage.published[:10]
    if a == b:
        return None
    word = m.group(1).lower()
    earlier = word.startswith(("before", "earlier", "prior"))
    return (a < b) if earlier else (a > b)


def _negation_differs(claims: Sequence[Claim]) -> bool:
    """True when one claim's evidence negates and another's does not (a crude sign of contradiction)."""
    flags = {bool(negation_terms(" ".join(s.text for s in c.evidence))) for c in claims if c.evidence}
    return len(flags) > 1


def choose(
    q: Question, passages: Sequence[Passage], sentences: Sequence[Sentence]
) -> tuple[str, list[Sentence]]:
    """The offered option of an "X or Y" question that the evidence supports, with that evidence."""
    options = q.options
    low = {o.lower() for o in options}
    claims = check_claims(q, passages, sentences)
    evidence = [s for c in claims for s in c.evidence]
    if not evidence:
        evidence = sorted(sentences, key=lambda s: s.relevance, reverse=True)[:1]
    if low == {"before", "after"}:
        dated = [
            (c, c.evidence[0].passage.published)
            for c in claims
            if c.evidence and c.evidence[0].passage.published
        ]
        if len(dated) >= 2:
            first, second = dated[0][1], dated[1][1]
            # "Was A reported before or after B?": compare the first claim's date with the second's.
            word = "before" if first <= second else "after"
            return _pick(options, word), evidence
        return options[0], evidence
    contradicted = any(c.contradicted for c in claims) or _negation_differs(claims)
    agree_words = {"consistent", "agree", "similar", "same", "consistency"}
    differ_words = {"inconsistent", "disagree", "different", "change"}
    if low & agree_words and low & differ_words:
        word = next(iter(low & differ_words)) if contradicted else next(iter(low & agree_words))
        return _pick(options, word), evidence
    return options[0], evidence


def _pick(options: Sequence[str], word: str) -> str:
    return next((o for o in options if o.lower() == word), word)
