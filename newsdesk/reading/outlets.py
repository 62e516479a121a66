"""Outlets: how outlet names compare, the names a text may call an outlet by, and which outlets it names.

One rule for ``--source`` filters, the retriever's outlet hints ("according to techcrunch"), the
reader's outlet-aware scoring and the claims of a yes/no question ("Does the TechCrunch article ...,
while The Verge ...?"), so an outlet a question names is the same outlet everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SHORT_NAME_MIN_CHARS = 3
"""A feed's long title ("Cnbc | World Business News Leader") is also known by the part before its
"|" or ":" ("Cnbc"), when that part is at least this long."""
_THE = re.compile(r"the\s")
OPTIONAL_THE_MIN_CHARS = 8
"""A name beginning with "The" this long or longer may be written without it ("Verge" for "The
Verge"); a shorter one may not ("age" is not The Age)."""


def outlet_key(name: str) -> str:
    """How outlet names compare: case and spacing ignored, a leading 'The' optional."""
    words = name.casefold().split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def short_names(source: str) -> set[str]:
    """The parts of a feed title before its "|" or ":" ("Cnbc", "Live Science"), long enough to be
    names; empty when it has none."""
    name = " ".join(source.split())
    parts = {name.split(cut)[0].strip() for cut in ("|", ":") if cut in name}
    return {part for part in parts if len(part) >= SHORT_NAME_MIN_CHARS}


def outlet_names(source: str) -> set[str]:
    """The names a text may call an outlet by: its own, its ``short_names``, and the name without
    "The" when it is long enough ("Verge")."""
    name = " ".join(source.split())
    names = ({name} if name else set()) | short_names(name)
    if name.casefold().startswith("the ") and len(name) >= OPTIONAL_THE_MIN_CHARS:
        names.add(name[4:])
    return names


class OutletMatcher:
    """Finds where a text names any of the given outlets.

    Any case and spacing of a name of ``outlet_names``; the longest name wins where two start at the
    same place; a match must stand as whole words; and one written all in lower case that begins
    with "the" is not a name ("at the age of 16" is not The Age; "the Age" and "THE AGE" are).
    """

    def __init__(self, sources: Iterable[str]) -> None:
        self.keys: dict[str, set[str]] = {}
        """Each name, case folded -> the keys (``outlet_key``) of the outlets it names."""
        for source in sources:
            key = outlet_key(source)
            if key:
                for name in outlet_names(source):
                    self.keys.setdefault(" ".join(name.casefold().split()), set()).add(key)
        alternatives = "|".join(
            r"\s+".join(re.escape(word) for word in name.split())
            for name in sorted(self.keys, key=len, reverse=True)
        )
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)" if alternatives else r"(?!)", re.I)

    def mentions(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """(start, end, keys of the outlets named) of every mention, in the text's order."""
        found = []
        for match in self._pattern.finditer(text):
            written = match.group(0)
            if written.islower() and _THE.match(written):
                continue
            found.append(
                (match.start(), match.end(), frozenset(self.keys[" ".join(written.casefold().split())]))
            )
        return found

    def named_keys(self, text: str) -> set[str]:
        """The keys of every outlet ``text`` names."""
        return {key for _, _, keys in self.mentions(text) for key in keys}


def named_sources(text: str, sources: Iterable[str]) -> list[str]:
    """Those of ``sources`` that ``text`` names, in the order it first names them (alphabetical
    among spellings of one outlet)."""
    spellings = sorted(set(sources))
    first: dict[str, int] = {}
    for start, _, keys in OutletMatcher(spellings).mentions(text):
        for key in keys:
            first.setdefault(key, start)
    found = [(first[outlet_key(s)], s) for s in spellings if outlet_key(s) in first]
    return [source for _, source in sorted(found)]


def source_mentions(text: str, sources: Iterable[str]) -> list[tuple[int, str]]:
    """(start, source) of every place ``text`` names one of ``sources``, in the text's order; a place
    naming several spellings of one outlet goes to the first of them in ``named_sources`` order."""
    named = named_sources(text, sources)
    out = []
    for start, _, keys in OutletMatcher(named).mentions(text):
        out.append((start, next(s for s in named if outlet_key(s) in keys)))
    return out
