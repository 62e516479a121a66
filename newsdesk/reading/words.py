"""Words: the one tokeniser, the one stemmer, and the stopword lists every step reads with.

Everything here is pure and fast (regular expressions and a crude stemmer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from newsdesk.text import fold

STOPWORDS = frozenset(
    """
    a an the of in on at to for from by with and or but is are was were be been being do does did
    what which who whom whose when where why how that this these those it its as about into than then
    there their they he she his her has have had not no yes will would can could should may might
    """.split()
)
"""English function words: left out of search queries, and never question terms on their own.

Kept short on purpose: words such as "before", "most" or "only" carry meaning in a news question, and
leaving them out of BM25 lost hits on both eval sets (multihop hit@1 0.916 -> 0.909)."""

READING_STOPWORDS = STOPWORDS | frozenset(
    """
    above after again against all am any because before below between both down during each few
    further having here hers herself him himself i if itself just me more most my myself nor now off
    once only other our ours ourselves out over own same so some such them themselves theirs through
    too under until up very we while you your yours yourself yourselves also according many much one
    s t whether within upon via among amongst doing
    """.split()
)
"""What the answer step also ignores when it matches a question to a sentence: every function word,
quantifiers and pronouns included (a search still uses them; a candidate answer never is one)."""

PHRASE_EDGE_STOPWORDS = (
    STOPWORDS - {"about", "being", "can", "could", "into", "may", "might", "should", "whose", "why"}
) | {"also", "here"}
"""Function words that a model's short answer is trimmed of at either end, and that never count as
its new words. Not ``STOPWORDS`` whole: "May" is a month ("May 5") and "about" an amount's
("about 300"), so neither is cut from an answer phrase."""

TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:[.'’-][A-Za-z0-9\u00C0-\u024F]+|(?<=\d),\d{3}(?!\d))*")
"""A word token: letters/digits, with inner ``.'’-`` and thousands commas kept ("U.S.", "1,000")."""
_SUFFIXES = (
    "ational", "ations", "ation", "ments", "ment", "ness", "ingly", "ings", "ing", "edly",
    "ies", "ied", "ed", "es", "s", "ly", "ers", "er", "est",
)  # fmt: skip
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


def tokens(text: str) -> list[str]:
    """Word tokens (letters/digits, with inner ``.'’-`` and thousands commas kept)."""
    return TOKEN.findall(text)


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of every word token of ``text``."""
    return [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]


def words(text: str) -> Iterator[str]:
    """Tokens of ``text``, and the parts of hyphenated ones ("pre-1875" gives "pre", "1875")."""
    for token in TOKEN.findall(text):
        yield token
        if "-" in token:
            yield from (part for part in token.split("-") if part)


@lru_cache(maxsize=131072)
def stem(word: str) -> str:
    """A crude, fast stem: a common suffix dropped, then the first five letters; numbers kept whole."""
    w = fold(word.lower().replace("’", "'"))
    if w.endswith("'s"):
        w = w[:-2]
    w = w.rstrip(".'")
    if w in _NUMBER_NAMES:
        return _NUMBER_NAMES[w]
    if any(ch.isdigit() for ch in w):
        return w.replace(",", "")
    if "-" in w:
        return "-".join(stem(part) for part in w.split("-") if part)
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:5]


def stems(text: str) -> set[str]:
    """The stems of every word of ``text``."""
    return {stem(t) for t in words(text)}


def share(terms: dict[str, float], present: Iterable[str]) -> float:
    """Weighted share of ``terms`` found in ``present`` (0 to 1)."""
    total = sum(terms.values())
    if not total:
        return 0.0
    have = present if isinstance(present, set | frozenset) else set(present)
    return sum(w for t, w in terms.items() if t in have) / total
