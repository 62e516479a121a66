"""Text rules shared by every step: one normalisation, one stopword list."""

from __future__ import annotations

import string
import unicodedata

_ASCII_PUNCTUATION = frozenset(string.punctuation)

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me might may more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom whose why will with would yes you your yours yourself
    yourselves
    """.split()
)
"""English function words: left out of search queries and of the words a question is about."""


def normalize(text: str) -> str:
    """Lower case, accents folded (NFKD, combining marks dropped), punctuation dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = (
        ch
        for ch in decomposed
        if not unicodedata.combining(ch)
        and not unicodedata.category(ch).startswith("P")
        and ch not in _ASCII_PUNCTUATION
    )
    return " ".join("".join(kept).split())
