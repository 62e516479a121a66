"""The answer contract shared by the CLI, the HTTP API and the UI (see README: ``ask --json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer inside a citation's quote, in the same field's offsets, for highlighting."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    """One cited passage: ``quote == article[field][start:end]`` always holds (``field`` is the body,
    ``text``, or the headline, ``title``, for an article whose headline is kept apart from its body)."""

    n: int
    article_id: str
    title: str
    url: str
    source: str
    published: str
    quote: str
    start: int
    end: int
    score: float
    also_in: list[dict[str, str]] = field(default_factory=list)
    """Other outlets that ran the same story (near-duplicates stored once): source, title, url, published."""
    field: str = "text"
    answer_span: AnswerSpan | None = None
    """Where the short answer stands inside the quote (``start <= answer_span.start``, same offsets)."""
    verified: bool | None = None
    """Generated answers: whether the sentence was checked against this passage (None: extractive)."""
    support: float | None = None
    """Generated answers: how strongly the passage supports the sentence (0 to 1)."""
    verified_by: str = ""
    """Generated answers: how it was checked: ``extractive``, ``span``, ``sentence``, ``moved``,
    ``unverified``."""

    @classmethod
    def of_chunk(
        cls,
        n: int,
        metadata: dict[str, Any],
        quote: str,
        start: int,
        end: int,
        score: float,
        field: str | None = None,
        answer_span: AnswerSpan | None = None,
        verified: bool | None = None,
        support: float | None = None,
        verified_by: str = "",
    ) -> Citation:
        """A citation of ``quote`` (article offsets ``start:end``) in the chunk with this metadata: the
        article's identity and outlets come from the chunk, so every answerer cites alike; ``field``
        defaults to the chunk's."""
        return cls(
            n=n,
            article_id=str(metadata.get("article_id", "")),
            title=str(metadata.get("title", "")),
            url=str(metadata.get("url", "")),
            source=str(metadata.get("source", "")),
            published=str(metadata.get("published", "")),
            quote=quote,
            start=start,
            end=end,
            score=round(float(score), 4),
            also_in=also_in_of(metadata),
            field=field or str(metadata.get("field") or "text"),
            answer_span=answer_span,
            verified=verified,
            support=support,
            verified_by=verified_by,
        )


def also_in_of(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """The near-duplicate outlets recorded on a chunk (a JSON list in its ``also_in`` metadata)."""
    raw = metadata.get("also_in")
    if not raw:
        return []
    try:
        items = json.loads(str(raw))
    except json.JSONDecodeError:
        return []
    return [{k: str(v) for k, v in item.items()} for item in items if isinstance(item, dict)]


@dataclass
class Answer:
    """An answer whose every sentence ends with a ``[n]`` marker of one of ``citations``; the first
    sentence states the answer (``short_answer``) when there is one."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    short_answer: str = ""
    """The stated answer: a name, number, date, "Yes"/"No"; empty when abstaining or unknown."""
    answer_type: str = ""
    """What the question asked for (person, org, place, date, count, money, yesno, what, ...)."""
    confidence: float | None = None
    """The estimated chance that the evidence answers the question."""
    generator: str = "extractive"
    """What wrote the answer: ``extractive`` or the language model's backend."""
    notice: str = ""
    """Something the user should know about this answer (e.g. the model could not be reached)."""
    standalone_question: str = ""
    """A follow-up question as it was rewritten to stand alone (empty when it was not rewritten)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "short_answer": self.short_answer,
            "answer_type": self.answer_type,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "generator": self.generator,
            "notice": self.notice,
            "standalone_question": self.standalone_question,
        }
