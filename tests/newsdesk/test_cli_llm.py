"""The ``newsdesk`` command with a language model, as a user runs it (real processes, the real SmolLM2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.index.load import load_paths
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE, SEEDS
from tests.support import free_port, run_newsdesk

ZHUHAI = "What aircraft will Russia display at the airshow in Zhuhai?"
SEED_TEXT = load_paths([SEED_ARTICLE]).articles[0].text


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    folder = tmp_path_factory.mktemp("cli-llm")
    Newsdesk(Settings(db=folder / "index", home=folder / "home"), embedder=embedder).indexer.index_paths(
        [SEEDS]
    )
    return folder / "index"


@pytest.mark.llm
def test_ask_with_the_local_model_names_the_su57_with_checked_verbatim_citations(seeded_db: Path) -> None:
    result = run_newsdesk("ask", ZHUHAI, "--llm", "local", "--json", "--db", str(seeded_db))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    answer = json.loads(line)
    assert answer["generator"] == "local" and not answer["abstained"] and not answer["notice"]
    assert "Su-57" in answer["answer"].split("[1]")[0] and answer["short_answer"] == "Su-57"
    assert answer["citations"] and {"llm", "verify", "total"} <= set(answer["timings_ms"])
    for c in answer["citations"]:
        assert c["verified"] is True and c["verified_by"] in ("span", "extractive")
        assert SEED_TEXT[c["start"] : c["end"]] == c["quote"]


@pytest.mark.llm
def test_ask_stream_json_gives_delta_events_then_the_checked_answer(seeded_db: Path) -> None:
    result = run_newsdesk("ask", ZHUHAI, "--llm", "local", "--stream", "--json", "--db", str(seeded_db))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.strip().splitlines()]
    *deltas, last = events
    assert deltas and all(e["event"] == "delta" and isinstance(e["text"], str) for e in deltas)
    assert last["event"] == "answer" and "Su-57" in last["answer"]["answer"]
    assert "".join(e["text"] for e in deltas).strip()
    assert all(c["verified"] is True for c in last["answer"]["citations"])


def test_ask_stream_shows_the_draft_on_stderr_and_the_checked_answer_on_stdout(seeded_db: Path) -> None:
    result = run_newsdesk("ask", ZHUHAI, "--stream", "--db", str(seeded_db))
    assert result.returncode == 0, result.stderr
    assert "Su-57" in result.stderr  # the draft, as it came
    assert "Su-57" in result.stdout and "Sources" in result.stdout and "[1]" in result.stdout


def test_ask_with_an_unreachable_model_says_so_once_and_gives_the_extractive_answer(seeded_db: Path) -> None:
    env = {"NEWSDESK_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}
    result = run_newsdesk("ask", ZHUHAI, "--llm", "openai", "--json", "--db", str(seeded_db), env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["generator"] == "extractive" and "unreachable" in answer["notice"]
    assert "Su-57" in answer["answer"]
    text = run_newsdesk("ask", ZHUHAI, "--llm", "openai", "--db", str(seeded_db), env=env)
    assert text.returncode == 0 and "Su-57" in text.stdout and "Sources:" in text.stdout
    assert "unreachable" in text.stderr and "Traceback" not in text.stderr


def test_ask_without_a_server_url_says_which_setting_is_missing(seeded_db: Path) -> None:
    result = run_newsdesk("ask", ZHUHAI, "--llm", "openai", "--json", "--db", str(seeded_db))
    answer = json.loads(result.stdout)
    assert answer["generator"] == "extractive" and "NEWSDESK_LLM_BASE_URL" in answer["notice"]


@pytest.mark.llm
def test_eval_with_the_local_model_reports_the_generated_answer_metrics(tmp_path: Path) -> None:
    data = tmp_path / "set"
    data.mkdir()
    article = {"url": "https://news.example/talks", "title": "Talks", "text": SEED_TEXT, "source": "Wire"}
    (data / "articles.jsonl").write_text(json.dumps(article) + "\n", encoding="utf-8")
    questions = [
        {
            "id": "a",
            "question": ZHUHAI,
            "answers": ["Su-57"],
            "answerable": True,
            "gold_urls": [article["url"]],
        },
        {"id": "b", "question": "What is the boiling point of mercury?", "answers": [], "answerable": False},
        {"id": "c", "question": "Who is visiting Beijing?", "answers": ["Shoigu"], "answerable": True},
    ]
    (data / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    result = run_newsdesk("eval", str(data), "--llm", "local", "--limit", "2", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["newsdesk"]
    assert metrics["n_questions"] == 2 and metrics["answer_containment"] == 1.0
    assert metrics["verified_sentence_rate"] == 1.0 and metrics["citation_verbatim_rate"] == 1.0
    assert metrics["llm_called_rate"] == 0.5  # the unanswerable question abstains before the model
    assert 0 < metrics["first_token_p50_ms"] <= metrics["latency_p50_ms"] + 1
