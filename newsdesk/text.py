"""Text rules shared by every step: one stopword list, one normalisation, words and stems, and the
sentence boundaries that chunks and answers are cut at.

Everything here is pure and fast (regular expressions, a crude stemmer, blingfire boundaries).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

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

TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:[.'’-][A-Za-z0-9\u00C0-\u024F]+|(?<=\d),\d{3}(?!\d))*")
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
_ASCII_PUNCTUATION = frozenset(string.punctuation)


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


def is_stopword(token: str) -> bool:
    return token.lower() in STOPWORDS


def fold(text: str) -> str:
    """Accents folded (NFKD, combining marks dropped)."""
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def normalize(text: str, punctuation: str = "") -> str:
    """Lower case, accents folded, punctuation dropped (or made ``punctuation``), spaces collapsed.

    The eval sets' scoring makes punctuation a space (``shared/eval/README.md``: "Australia’s" holds
    "Australia"): ``normalize(text, " ")``; names compared inside the reader drop it ("U.S." is "us").
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = (
        punctuation if unicodedata.category(ch).startswith("P") or ch in _ASCII_PUNCTUATION else ch
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return " ".join("".join(kept).split())


def share(terms: dict[str, float], present: Iterable[str]) -> float:
    """Weighted share of ``terms`` found in ``present`` (0 to 1)."""
    total = sum(terms.values())
    if not total:
        return 0.0
    have = present if isinstance(present, set | frozenset) else set(present)
    return sum(w for t, w in terms.items() if t in have) / total


_LINE = re.compile(r"[^\n]+")


@lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans of ``text``: lines first (headings, paragraphs), then blingfire's sentences.

    Spans are trimmed of surrounding white space, so each starts and ends on a visible character.
    """
    import blingfire

    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        line_text = line.group()
        if not line_text.strip():
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(line_text)
        for start, end in offsets or [(0, len(line_text))]:
            piece = line_text[start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            left = line.start() + start + (len(piece) - len(piece.lstrip()))
            spans.append((left, left + len(stripped)))
    return tuple(spans)


def unicode_problem(text: str, name: str = "the text") -> str | None:
    """Why ``text`` is not valid Unicode, in words, or None when it is.

    What arrives from outside can hold code points no encoder accepts: a lone surrogate sent as a
    JSON escape (``"\\ud800"``), or a byte that was not UTF-8, kept by Python's ``surrogateescape``
    (command-line arguments). Every edge (HTTP, the chat, the command line) asks this one question
    before the text goes further, so the answer is a clear message instead of an error deep inside.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        where = f"character {error.start + 1}"
        if 0xDC80 <= code <= 0xDCFF:
            return f"{name} is not valid text: the byte 0x{code - 0xDC00:02X} at {where} is not UTF-8"
        return f"{name} is not valid text: a lone surrogate (U+{code:04X}) at {where}"
    return None


def first_unicode_problem(value: object, name: str) -> str | None:
    """``unicode_problem`` for every string inside ``value`` (strings, lists, dicts; keys too)."""
    if isinstance(value, str):
        return unicode_problem(value, name)
    if isinstance(value, list | tuple):
        return next((p for item in value if (p := first_unicode_problem(item, name))), None)
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
        return next((p for item in items if (p := first_unicode_problem(item, name))), None)
    return None


def printable(text: str) -> str:
    """``text`` with whatever is not valid Unicode replaced by U+FFFD, for echoing it back safely."""
    if unicode_problem(text) is None:
        return text
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
