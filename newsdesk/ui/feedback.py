"""Readers' verdicts on answers (thumbs up or down, an optional comment), kept in SQLite beside the
index, so the operator can see what went wrong and turn it into an eval set
(``newsdesk feedback export``: one JSON line per verdict, with the question, the answer and its
citations).

Routes: ``POST /api/feedback`` (behind the app's login); the chat's like buttons write here too.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from newsdesk.config import Settings
from newsdesk.ui.guard import Guards, client_of

MAX_COMMENT_CHARS = 2000
MAX_ANSWER_CHARS = 20_000
MAX_CITATIONS = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]'
)
"""


def feedback_path(settings: Settings) -> Path:
    """``feedback.sqlite`` beside the index (per server and collection with a Chroma server)."""
    return settings.state_dir / "feedback.sqlite"


class FeedbackIn(BaseModel):
    """Body of ``POST /api/feedback``: a verdict on one answer (as ``/api/ask`` gave it)."""

    verdict: Literal["up", "down"]
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_CITATIONS)


class FeedbackOut(BaseModel):
    """What ``POST /api/feedback`` answers: the stored verdict's id."""

    id: int
    stored: bool = True


class FeedbackStore:
    """The verdicts, one row each, in one SQLite file (created on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(_SCHEMA)
        return db

    def add(self, entry: FeedbackIn, user: str = "") -> int:
        """Store one verdict; its id."""
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            user,
            entry.verdict,
            entry.comment.strip(),
            entry.question,
            entry.answer,
            json.dumps(entry.citations, ensure_ascii=False),
        )
        with self._lock, contextlib.closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO feedback (created, user, verdict, comment, question, answer, citations) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every verdict, oldest first, as the export writes it."""
        if not self.path.exists():
            return
        with contextlib.closing(self._connect()) as db:
            rows = db.execute(
                "SELECT id, created, user, verdict, comment, question, answer, citations "
                "FROM feedback ORDER BY id"
            ).fetchall()
        for id_, created, user, verdict, comment, question, answer, citations in rows:
            yield {
                "id": id_,
                "created": created,
                "user": user,
                "verdict": verdict,
                "comment": comment,
                "question": question,
                "answer": answer,
                "citations": json.loads(citations),
            }

    def counts(self) -> dict[str, int]:
        """Verdicts by kind: ``{"up": N, "down": M}``."""
        counts = {"up": 0, "down": 0}
        if self.path.exists():
            with contextlib.closing(self._connect()) as db:
                for verdict, count in db.execute("SELECT verdict, COUNT(*) FROM feedback GROUP BY verdict"):
                    counts[str(verdict)] = int(count)
        return counts

    def export(self, out: Any) -> int:
        """Write every verdict as one JSON line to ``out``; how many were written."""
        written = 0
        for record in self.records():
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
        return written


def feedback_router(store: FeedbackStore, guards: Guards) -> APIRouter:
    """``POST /api/feedback``; every verdict counts against the client's rate limit, as a question does."""
    router = APIRouter(tags=["feedback"])

    @router.post("/api/feedback", response_model=FeedbackOut)
    def give_feedback(request: Request, body: FeedbackIn) -> Any:
        """Store a verdict on an answer (thumbs ``up`` or ``down``, an optional comment)."""
        wait = guards.limits.ask_allowed(client_of(request))
        if wait:
            return JSONResponse(
                {"detail": f"too many requests; try again in {wait} s"},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        return FeedbackOut(id=store.add(body))

    return router
