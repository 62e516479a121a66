"""Checks a question before any work is done, so bad input gets a polite reply, not a traceback."""

from __future__ import annotations

import re

from newsdesk.reading.words import STOPWORDS

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_OTHER = frozenset(
    """
    el la los las del que qué quién quien cuándo dónde por para una es está son y con le les des
    du est qui quoi où quand pourquoi avec une dans sur et der die das den dem des ist wer was
    wann wo warum und mit ein eine nicht auf il lo gli di che chi dove perché è sono con una o
    os as do da dos das quem onde porque é são com um uma
    """.split()
)


def question_problem(question: str, max_chars: int) -> str | None:
    """A helpful message when the question cannot be answered as asked, else None."""
    text = question.strip()
    if not text:
        return "Please type a question about the indexed articles, for example: 'Who is visiting Beijing?'"
    if len(text) > max_chars:
        return (
            f"That question is {len(text):,} characters long; Newsdesk takes questions of up to "
            f"{max_chars:,} characters. Please ask something shorter and more specific."
        )
    letters = "".join(_WORD.findall(text))
    if not letters:
        return "Please ask a question in words, for example: 'Who is visiting Beijing?'"
    latin = sum(1 for ch in letters if ord(ch) < 0x250)
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(w in STOPWORDS for w in words)
    other = sum(w in _OTHER and w not in STOPWORDS for w in words)
    if latin / len(letters) < 0.5 or (other >= 2 and other > english):
        return (
            "Newsdesk understands questions in English only for now. "
            "Please ask again in English, for example: 'Who is visiting Beijing?'"
        )
    return None
