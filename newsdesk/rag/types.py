"""The answer contract shared by the CLI, the HTTP API and the UI (see README: ``ask --json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One cited passage: ``quote == article_text[start:end]`` always holds."""

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
    """An answer whose every sentence ends with a ``[n]`` marker of one of ``citations``."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
