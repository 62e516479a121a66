"""The ``newsdesk`` command end to end, as a user runs it (real processes, real model, real Chroma)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEED_ARTICLE, SEEDS

SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")


def newsdesk(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "index"
    result = newsdesk("index", str(SEEDS), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"added: file://{SEED_ARTICLE.resolve()}" in result.stdout
    return db


def test_help_is_instant_and_lists_the_commands() -> None:
    result = newsdesk("--help")
    assert result.returncode == 0
    for command in ("index", "ask", "serve"):
        assert command in result.stdout


def test_ask_json_names_shoigu_and_follows_the_contract(seeded_db: Path) -> None:
    result = newsdesk("ask", "Who is visiting Beijing for security talks?", "--db", str(seeded_db), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object"
    payload = json.loads(lines[0])
    assert set(payload) == {"question", "answer", "abstained", "citations", "timings_ms"}
    assert "Shoigu" in payload["answer"] and payload["abstained"] is False
    assert set(payload["timings_ms"]) == {"retrieve", "answer", "total"}
    numbers = {c["n"] for c in payload["citations"]}
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", payload["answer"])}
    assert numbers == markers and numbers
    for c in payload["citations"]:
        assert set(c) == {
            "n",
            "article_id",
            "title",
            "url",
            "source",
            "published",
            "quote",
            "start",
            "end",
            "score",
        }
        assert SEED_TEXT[c["start"] : c["end"]] == c["quote"]


def test_ask_abstains_on_what_the_articles_do_not_say(seeded_db: Path) -> None:
    result = newsdesk("ask", "What is the capital of Peru?", "--db", str(seeded_db))
    assert result.returncode == 0
    assert "do not answer" in result.stdout and "Sources" not in result.stdout


def test_ask_prints_sources_with_quotes_on_the_terminal(seeded_db: Path) -> None:
    result = newsdesk("ask", "Where will the Su-57 be showcased?", "--db", str(seeded_db), "-k", "3")
    assert result.returncode == 0
    assert (
        "Zhuhai" in result.stdout and "Sources:" in result.stdout and "[1] Chinese-Russian" in result.stdout
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [("", "Please type a question"), ("x" * 100_000, "100,000 characters"), ("谁在北京？", "English")],
)
def test_bad_questions_get_a_polite_reply_not_a_traceback(
    seeded_db: Path, question: str, expected: str
) -> None:
    result = newsdesk("ask", question, "--db", str(seeded_db), "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert expected in payload["answer"] and payload["abstained"] is True


def test_reindexing_reports_unchanged_and_writes_nothing(seeded_db: Path) -> None:
    result = newsdesk("index", str(SEEDS), "--db", str(seeded_db))
    assert result.returncode == 0
    assert "unchanged: 1 article(s)" in result.stdout and "0 chunks written" in result.stdout


def test_index_reports_skipped_files_with_reason_and_prunes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    (docs / "b.txt").write_text("Bridge\nThe bridge closed for repairs in the spring.", encoding="utf-8")
    (docs / "broken.jsonl").write_text("{oops\n", encoding="utf-8")
    db = tmp_path / "db"
    first = newsdesk("index", str(docs), "--db", str(db))
    assert first.returncode == 0
    assert f"skipped: {docs / 'broken.jsonl'}:1: broken JSON" in first.stdout
    assert first.stdout.count("added: ") == 2
    (docs / "b.txt").unlink()
    second = newsdesk("index", str(docs), "--db", str(db), "--prune")
    assert f"removed: file://{(docs / 'b.txt').resolve()}" in second.stdout


def test_index_home_comes_from_the_environment(tmp_path: Path) -> None:
    result = newsdesk("index", str(SEED_ARTICLE), env={"NEWSDESK_HOME": str(tmp_path / "home")})
    assert result.returncode == 0
    assert (tmp_path / "home" / "index").is_dir()


def test_an_unusable_index_folder_gives_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "file"
    bogus.write_text("not an index")
    result = newsdesk("ask", "Who?", "--db", str(bogus))
    assert (
        result.returncode == 2
        and "is a file, not a folder" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_eval_reports_metrics_and_writes_predictions(tmp_path: Path) -> None:
    data = tmp_path / "set"
    data.mkdir()
    articles = [
        {
            "id": "a",
            "title": "Harbour",
            "url": "u://a",
            "text": "The harbour reopened on Friday after the storm.",
        },
        {
            "id": "b",
            "title": "Bridge",
            "url": "u://b",
            "text": "The old bridge closed for repairs in the spring.",
        },
    ]
    questions = [
        {
            "id": "1",
            "question": "When did the harbour reopen?",
            "answers": ["Friday"],
            "answerable": True,
            "gold_urls": ["u://a"],
        },
        {
            "id": "2",
            "question": "Why did the bridge close?",
            "answers": ["repairs"],
            "answerable": True,
            "gold_urls": ["u://b"],
        },
    ]
    (data / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    (data / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions), encoding="utf-8")
    predictions = tmp_path / "predictions.jsonl"
    result = newsdesk("eval", str(data), "--json", "--predictions", str(predictions))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["newsdesk"]
    assert metrics["hit@1"] == 1.0 and metrics["answer_containment"] == 1.0
    assert metrics["citation_verbatim_rate"] == 1.0
    lines = predictions.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2"]
