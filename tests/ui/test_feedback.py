"""Readers' verdicts: stored beside the index through ``POST /api/feedback`` (behind the login) and
written out by ``newsdesk feedback export``."""

from __future__ import annotations

import io
import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.ui.feedback import FeedbackIn, FeedbackStore
from tests.support import run_newsdesk
from tests.ui.test_app import INDEX_OF, QUESTION, get_json, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_server(
        tmp_path_factory.mktemp("feedback") / "index", {"NEWSDESK_AUTH": "ann:s3cret"}
    )
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_a_verdict_given_over_http_is_exported_with_its_answer_and_citations(server: str) -> None:
    answer = get_json(f"{server}/api/ask", {"question": QUESTION}, login="ann:s3cret")
    verdict = {
        "verdict": "down",
        "question": QUESTION,
        "answer": answer["answer"],
        "comment": "Name the meeting's date too.",
        "citations": answer["citations"],
    }
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{server}/api/feedback", verdict)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as invalid:
        get_json(f"{server}/api/feedback", {**verdict, "verdict": "meh"}, login="ann:s3cret")
    assert invalid.value.code == 422

    stored = get_json(f"{server}/api/feedback", verdict, login="ann:s3cret")

    assert stored["stored"] is True and int(stored["id"]) >= 1  # type: ignore[call-overload]
    exported = run_newsdesk("feedback", "export", "--db", str(INDEX_OF[server]))
    assert exported.returncode == 0, exported.stderr
    (record,) = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {k: record[k] for k in verdict} == verdict
    assert "1 verdicts exported (0 up, 1 down)" in exported.stderr


def test_the_feedback_route_has_a_response_schema(server: str) -> None:
    schema = get_json(f"{server}/api/openapi.json", login="ann:s3cret")
    post = schema["paths"]["/api/feedback"]["post"]  # type: ignore[index]
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FeedbackOut"
    }


def test_verdicts_are_kept_in_order_and_counted(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "index" / "feedback.sqlite")
    assert list(store.records()) == [] and store.counts() == {"up": 0, "down": 0}
    store.add(FeedbackIn(verdict="up", question="Who?", answer="Shoigu. [1]"), user="ann")
    store.add(FeedbackIn(verdict="down", question="Where?", answer="Zhuhai. [1]", comment="  wrong  "))
    out = io.StringIO()
    assert store.export(out) == 2
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["verdict"], first["user"], first["question"]) == ("up", "ann", "Who?")
    assert (second["verdict"], second["comment"], second["citations"]) == ("down", "wrong", [])
    assert store.counts() == {"up": 1, "down": 1}


def test_an_empty_export_writes_nothing_and_creates_nothing(tmp_path: Path) -> None:
    exported = run_newsdesk("feedback", "export", "--db", str(tmp_path / "index"))
    assert exported.returncode == 0 and exported.stdout == ""
    assert "0 verdicts exported" in exported.stderr and not (tmp_path / "index").exists()
