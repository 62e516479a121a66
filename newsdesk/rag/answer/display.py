"""What an answer shows of a sentence: never a Markdown heading mark or a dateline, and never page
furniture; offsets always stay exact."""

from __future__ import annotations

import re

from newsdesk.dates import MONTH as _MONTH

_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|>\s+)")
# "RIVERTON, March 4, 2024 —", "WASHINGTON (AP) -", "LONDON, Ohio, Dec. 3 (Reuters) --", "PARIS —"
_DATELINE = re.compile(
    rf"^(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+)*)"
    rf"(?:,\s+[A-Z][A-Za-z.]+(?:\s+[A-Z][A-Za-z.]+)?)?"
    rf"(?:,?\s+{_MONTH}\s+\d{{1,2}}(?:,\s+\d{{4}})?)?"
    r"(?:\s*\([A-Za-z .]+\))?"
    r"\s*(?:—|–|--|-)\s*"
)
_TRAILING = re.compile(r"[\s#*_]+$")


def shown_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` narrowed past Markdown heading/list marks and a dateline, so none is shown.

    The result is still a slice of ``text`` (offsets stay exact); if nothing would be left, the
    span is returned unchanged.
    """
    piece = text[start:end]
    left = 0
    m = _HEADING.match(piece)
    if m:
        left = m.end()
    rest = piece[left:]
    # Emphasis marks around a heading ("**Greenfield opens ...**") are dropped too.
    stripped = rest.lstrip("*_ ")
    left += len(rest) - len(stripped)
    m = _DATELINE.match(piece[left:])
    if m and m.end() < len(piece) - left:
        left += m.end()
    right = len(piece)
    m = _TRAILING.search(piece, left)
    if m and m.start() > left:
        right = m.start()
    if right - left <= 0:
        return start, end
    return start + left, start + right


def is_heading(text: str, start: int, end: int) -> bool:
    """True for a Markdown heading line (``# ...``)."""
    return bool(re.match(r"\s{0,3}#{1,6}\s", text[start:end]))


_LINK_LINE = re.compile(
    r"^\W{0,3}(?:more|read\s+more|related|see\s+also|also\s+read|read\s+also|watch|listen|"
    r"recommended|trending|explore|click\s+here|sign\s+up|subscribe|follow\s+us|contributing|"
    r"editor['’]s\s+note|photos?|video|image|credit|getty|ap\s+photo)\b\s*(?::|[-–—|]|\.\.\.|$)",
    re.I,
)
_BYLINE = re.compile(r"^\W{0,3}[Bb]y\s+[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|and|&|,))*\s*[,|]?.{0,60}$")
_CAPTION = re.compile(
    r"\((?:AP|Getty|Reuters|AFP|EPA)[^)]*\)\s*$|\b(?:AP\s+Photo|Getty\s+Images|Photo\s+(?:by|credit)|"
    r"Photograph:|Image\s+credit|/\s*(?:AFP|Getty|Reuters|AP))\b",
    re.I,
)
FURNITURE_MAX_WORDS = 25
"""A line this short that ends with a question mark is a subheading, not a sentence of the story."""


def is_furniture(text: str, start: int, end: int) -> bool:
    """Page furniture around a story: a link line ("More: ...", "Read more", "Related: ..."), a
    subheading that is a question, a byline or a photo caption. ``[start, end)`` is one sentence;
    the line holding it decides."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : len(text) if line_end < 0 else line_end].strip()
    if not line:
        return False
    if _LINK_LINE.match(line) or _CAPTION.search(line):
        return True
    words = line.split()
    if line.endswith("?") and len(words) <= FURNITURE_MAX_WORDS and not re.search(r"[.!][\"”’]?\s", line):
        return True  # a subheading asking what the next paragraph answers
    return len(words) <= 12 and bool(_BYLINE.match(line))
