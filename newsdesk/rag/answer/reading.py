"""What an answer rests on: the question as read, the passages' sentences and spans, their scores,
the yes/no verdict and the abstention features (shared by composing, abstaining and calibrating)."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsdesk.rag.answer import yesno
from newsdesk.rag.answer.candidates import Passage, Sentence
from newsdesk.rag.answer.question import Question
from newsdesk.rag.answer.spans import Group


@dataclass
class Reading:
    """Everything an answer rests on (for composing, abstaining and calibrating)."""

    question: Question
    passages: list[Passage]
    sentences: list[Sentence]
    groups: list[Group] = field(default_factory=list)
    ranked: list[Sentence] = field(default_factory=list)
    verdict: yesno.Verdict | None = None
    choice: tuple[str, list[Sentence]] | None = None
    rarity: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 1.0
