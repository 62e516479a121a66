"""A streaming filter that never shows a dangling or invalid citation marker.

Tokens arrive in pieces (``"... Zhuhai ["``, ``"7"``, ``"]."``). ``MarkerFilter.feed`` returns the
text that is safe to show now and holds back a tail that may still become a marker (``[``, ``[1``,
``[1, 2``); a completed marker is shown only when it points at a passage (1..``n_passages``),
renumbered in the order the reader meets them (as the final answer numbers its citations), and
not repeated (``[1][1]`` shows once). ``<think>`` blocks of reasoning models, and fence tags or
control tokens that a model echoes from its prompt, are never shown.
``finish`` flushes the rest; an unfinished marker at the very end is dropped.
"""

from __future__ import annotations

import re

from newsdesk.rag.llm.prompt import CONTROL_TOKEN
from newsdesk.reading.markers import MODEL_MARKERS, OPEN_MODEL_MARKERS, last_marker, marker_numbers

_MAX_HELD = 24
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class MarkerFilter:
    """Marker-safe streaming of generated text.

    Args:
        n_passages: passages in the prompt; markers outside 1..n are dropped.
        renumber: show markers renumbered in reading order (default) or as the model wrote them.
    """

    def __init__(self, n_passages: int, renumber: bool = True) -> None:
        self.n_passages = n_passages
        self.renumber = renumber
        self.order: dict[int, int] = {}
        self._pending = ""
        self._last_marker_end = -1
        self._shown: list[str] = []
        self._thinking = False
        self._started = False
        self._eat_space = False

    @property
    def shown(self) -> str:
        """Everything shown so far."""
        return "".join(self._shown)

    def feed(self, delta: str) -> str:
        """The part of the text so far that is safe to show now (may be empty)."""
        self._pending += delta
        out = self._drain(final=False)
        self._shown.append(out)
        return out

    def finish(self) -> str:
        """The rest of the text, without an unfinished marker."""
        out = self._drain(final=True)
        self._shown.append(out)
        return out

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        while self._pending:
            if self._eat_space:  # no double space where a marker was dropped
                self._pending = self._pending.lstrip(" ")
                self._eat_space = not self._pending
                if not self._pending:
                    break
            if self._thinking:
                close = self._pending.find(_THINK_CLOSE)
                if close < 0:
                    keep = _partial_suffix(self._pending, _THINK_CLOSE)
                    self._pending = self._pending[len(self._pending) - keep :] if keep and not final else ""
                    break
                self._pending = self._pending[close + len(_THINK_CLOSE) :]
                self._thinking = False
                continue
            cut = _first_of(self._pending, ("[", "【", "<"))
            if cut < 0:
                out.append(self._pending)
                self._pending = ""
                break
            out.append(self._pending[:cut])
            rest = self._pending[cut:]
            if rest.startswith(_THINK_OPEN):
                self._thinking = True
                self._pending = rest[len(_THINK_OPEN) :]
                continue
            if rest[0] == "<":
                tag = CONTROL_TOKEN.match(rest)
                if tag:  # an echoed fence tag or control token: never shown
                    self._pending = rest[tag.end() :]
                    continue
                if not final and _may_become_tag(rest):
                    self._pending = rest  # wait for more
                    break
                out.append("<")
                self._pending = rest[1:]
                continue
            marker = MODEL_MARKERS.match(rest)
            if marker:
                shown = self._markers(marker.group(1), "".join(out))
                out.append(shown)
                self._pending = rest[marker.end() :]
                self._eat_space = not shown and (self.shown + "".join(out))[-1:].isspace()
                continue
            if OPEN_MODEL_MARKERS.match(rest) and len(rest) <= _MAX_HELD:
                self._pending = "" if final else rest  # wait for more (or drop at the end)
                break
            out.append(rest[0])  # a bracket that is not a marker: "[sic]"
            self._pending = rest[1:]
        text = "".join(out)
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text

    def _markers(self, numbers: str, before: str) -> str:
        """The shown form of one marker group: valid numbers only, renumbered, no repeat of the last."""
        shown = []
        for n in marker_numbers(numbers):
            if not 1 <= n <= self.n_passages:
                continue
            if self.renumber:
                n = self.order.setdefault(n, len(self.order) + 1)
            shown.append(n)
        previous = self._previous_marker(before)
        text = ""
        for n in dict.fromkeys(shown):
            if n == previous:
                continue
            spaced = (self.shown + before + text)[-1:].isspace() or not (self.shown + before + text)
            text += f"{'' if spaced else ' '}[{n}]"
            previous = n
        return text

    def _previous_marker(self, before: str) -> int | None:
        """The marker shown right before this point (only white space between), if any."""
        return last_marker(self.shown + before)


_TAG_START = re.compile(r"<\s*/?\s*([a-z]*)", re.I)
_TAG_NAMES = ("passage", "passages", "system", "s", "think")
_MAX_TAG = 420


def _may_become_tag(text: str) -> bool:
    """Whether ``text`` (from a ``<`` with no ``>`` yet) may still become a tag that is never shown."""
    if len(text) > _MAX_TAG or ">" in text:
        return False
    if text.startswith("<|"):
        return True
    start = _TAG_START.match(text)
    assert start is not None
    word = start.group(1).lower()
    if start.end() == len(text):  # "<", "</", "<pass": the name may still grow
        return any(name.startswith(word) for name in _TAG_NAMES)
    return word in _TAG_NAMES and not text[start.end()].isalnum()


def _first_of(text: str, needles: tuple[str, ...]) -> int:
    found = [i for i in (text.find(n) for n in needles) if i >= 0]
    return min(found) if found else -1


def _partial_suffix(text: str, word: str) -> int:
    """Length of the longest end of ``text`` that begins ``word``."""
    for size in range(min(len(word) - 1, len(text)), 0, -1):
        if word.startswith(text[-size:]):
            return size
    return 0
