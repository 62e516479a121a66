"""What one system did with one question, as a record that a predictions file keeps, and the eval
set's own files (``articles.jsonl``, ``questions.jsonl``; see ``shared/eval/README.md``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.index.load import Article, load_paths
from newsdesk.rag.types import Citation


@dataclass
class PredictionRecord:
    """What one system did with one question, with the question's ground truth.

    ``retrieved_urls`` are the distinct article urls of the retrieved chunks, best first (top 10);
    ``citations`` are dicts made by ``citation_record``.
    """

    id: str
    question: str
    type: str | None
    answerable: bool
    gold_urls: list[str]
    answers: list[str]
    answer: str
    abstained: bool
    retrieved_urls: list[str]
    cited_urls: list[str]
    citations: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictionRecord:
        """The record ``to_dict`` wrote."""
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            type=data.get("type"),
            answerable=bool(data["answerable"]),
            gold_urls=[str(u) for u in data.get("gold_urls", [])],
            answers=[str(a) for a in data.get("answers", [])],
            answer=str(data.get("answer", "")),
            abstained=bool(data["abstained"]),
            retrieved_urls=[str(u) for u in data.get("retrieved_urls", [])],
            cited_urls=[str(u) for u in data.get("cited_urls", [])],
            citations=[dict(c) for c in data.get("citations", [])],
            timings_ms={str(k): float(v) for k, v in data.get("timings_ms", {}).items()},
        )


def citation_record(citation: Citation) -> dict[str, Any]:
    """What a prediction record keeps of a citation: where its quote stands (url, field, offsets,
    the short answer's span) for the verbatim check, and its number and ``verified`` for the
    generated-answer metrics."""
    return {
        "n": citation.n,
        "url": citation.url,
        "quote": citation.quote,
        "start": citation.start,
        "end": citation.end,
        "field": citation.field,
        "answer_span": asdict(citation.answer_span) if citation.answer_span else None,
        "verified": citation.verified,
    }


def write_predictions(path: Path, records: Iterable[PredictionRecord]) -> None:
    """Write ``records`` as JSON lines (UTF-8, one record a line)."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_predictions(path: Path) -> list[PredictionRecord]:
    """Read the records ``write_predictions`` wrote."""
    with path.open(encoding="utf-8") as lines:
        return [PredictionRecord.from_dict(json.loads(line)) for line in lines if line.strip()]


def load_eval_articles(data_dir: Path) -> list[Article]:
    """The articles of an eval set; any line that does not load is an error (the set must be whole)."""
    loaded = load_paths([data_dir / "articles.jsonl"])
    if loaded.problems:
        listed = "; ".join(str(p) for p in loaded.problems[:5])
        raise ValueError(f"{len(loaded.problems)} problem(s) loading {data_dir}/articles.jsonl: {listed}")
    return loaded.articles


def load_questions(data_dir: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` (default: all) questions of an eval set, as dicts."""
    questions: list[dict[str, Any]] = []
    with (data_dir / "questions.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(questions) >= limit:
                break
            if line.strip():
                questions.append(json.loads(line))
    return questions
