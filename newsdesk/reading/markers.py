"""Citation markers: ``[n]`` as Newsdesk writes them, and every form a model writes them in.

Newsdesk closes each sentence of an answer with its markers (``Paris is big. [1]``), numbered in
reading order. A model may write ``[1, 3]``, ``[1][3]``, ``[1; 3]`` or ``【1】``. Renumbering, stripping,
streaming, scoring and quoting all read markers with these patterns, so they agree on what a
marker is.
"""

from __future__ import annotations

import re

_ONE = r"\[\d+\]"
_MODEL_GROUP = r"[\[【]\s*\d+(?:\s*[,;]\s*\d+)*\s*[\]】]"

MARKER = re.compile(r"\[(\d+)\]")
"""One marker as Newsdesk writes it; group 1 is its number."""
SPACED_MARKER = re.compile(r"\s*\[(\d+)\]")
"""A marker with the white space before it: what taking a marker out of a sentence removes."""
ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
"""A marker after Markdown escaping (``\\[1\\]``), to be shown as a marker again."""
_MARKED_SENTENCE = re.compile(rf"(.*?)((?:\s*{_ONE})+)")

MODEL_MARKERS = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,;]\s*\d+)*)\s*[\]】]")
"""One group of markers as a model writes them (``[1]``, ``[1, 3]``, ``【2】``), with the space
before it; group 1 holds the numbers (``marker_numbers``)."""
OPEN_MODEL_MARKERS = re.compile(r"[\[【]\s*(?:\d+\s*(?:[,;]\s*)?)*$")
"""The start of a model's marker group that is not closed yet, at the end of streamed text (``[``,
``[1``, ``[1, 2``)."""
LEFTOVER_BRACKETS = re.compile(r"[\[【]\s*[\d,;\s]*[\]】]")
"""Brackets left holding no marker (``[]``, ``[ , ]``): never shown."""
_MARKERS_AFTER_STOP = re.compile(rf"([.!?])((?:\s*{_MODEL_GROUP})+)")


def markers_in(text: str) -> list[int]:
    """Citation numbers in reading order, repeats included."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]


def has_marker(text: str) -> bool:
    """Whether ``text`` holds a marker (an article sentence that does is not quoted as an answer)."""
    return MARKER.search(text) is not None


def strip_markers(text: str) -> str:
    """``text`` without its markers (and the space before each), trimmed."""
    return SPACED_MARKER.sub("", text).strip()


def last_marker(text: str) -> int | None:
    """The number of the marker that ends ``text`` (trailing space ignored), if any."""
    match = re.search(rf"{MARKER.pattern}$", text.rstrip())
    return int(match.group(1)) if match else None


def marker_numbers(group: str) -> list[int]:
    """The numbers of a marker group's inside (``"1, 3"`` gives [1, 3]), in order, repeats kept."""
    return [int(n) for n in re.findall(r"\d+", group)]


def sentences_with_markers(text: str) -> list[tuple[str, list[int]]]:
    """The sentences of a cited answer, each with the numbers of the markers that close it."""
    return [
        (m.group(1).strip(), marker_numbers(m.group(2)))
        for m in _MARKED_SENTENCE.finditer(text)
        if m.group(1).strip()
    ]


def markers_before_stops(text: str) -> str:
    """Every model marker group moved before the full stop it follows (``Paris. [1]`` becomes
    ``Paris [1].``), so that a sentence splitter keeps it with the sentence it closes."""
    return _MARKERS_AFTER_STOP.sub(r"\2\1", text)
