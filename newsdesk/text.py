"""Text rules shared by every step: one normalisation (case, accents, punctuation), and the one check
that text from outside is valid Unicode.

How words, sentences and questions are read lives in ``newsdesk.reading``.
"""

from __future__ import annotations

import string
import unicodedata

_ASCII_PUNCTUATION = frozenset(string.punctuation)


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
