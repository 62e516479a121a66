"""What an operator watches on a real `newsdesk serve`: /metrics (Prometheus text, behind the login)
whose counters move as questions are asked, and one JSON access-log line per request."""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gradio_client import Client
from prometheus_client.parser import text_string_to_metric_families

from bench.live import Server
from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.ui.app import build_app
from newsdesk.wiring import Newsdesk

QUESTION = "Who is visiting Beijing for security talks?"
LOGIN = ("ann", "s3cret")
BASIC = {"Authorization": "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()}
ASKS_PER_MINUTE = 4


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("observe")
    server = Server(
        folder / "index",
        folder / "home",
        folder / "app.log",
        {"NEWSDESK_AUTH": ":".join(LOGIN), "NEWSDESK_RATE_LIMIT": f"{ASKS_PER_MINUTE}/minute"},
    )
    server.wait_ready()
    yield server
    server.terminate()


def fetch(
    server: Server, path: str, source: str = "127.0.0.1", login: bool = True, body: Any = None
) -> tuple[int, bytes]:
    """One request from the loopback address ``source``: (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120, source_address=(source, 0))
    try:
        headers = {**(BASIC if login else {}), **({"Content-Type": "application/json"} if body else {})}
        data = json.dumps(body).encode() if body is not None else None
        connection.request("POST" if body is not None else "GET", path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def scrape(server: Server) -> dict[str, float]:
    """Every sample of /metrics, parsed by prometheus_client's own parser, by name and labels."""
    status, body = fetch(server, "/metrics")
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_metrics_want_the_login_and_parse_as_prometheus_text(app: Server) -> None:
    assert fetch(app, "/metrics", login=False)[0] == 401
    samples = scrape(app)
    assert samples["newsdesk_index_chunks"] > 0 and samples["newsdesk_index_generation"] >= 1
    for outcome in ("answered", "abstained", "busy", "rate_limited"):
        assert f"newsdesk_questions_total{{outcome={outcome}}}" in samples
    assert "newsdesk_answer_seconds_count" in samples and "process_resident_memory_bytes" in samples


def test_counters_move_as_questions_are_answered_refused_and_limited(app: Server) -> None:
    before = scrape(app)
    assert fetch(app, "/api/ask", body={"question": QUESTION})[0] == 200
    assert fetch(app, "/api/ask?q=What+is+the+capital+of+Peru%3F")[0] == 200  # abstains
    chat = Client(app.url, auth=LOGIN, verbose=False).predict(QUESTION, api_name="/ask")
    assert "Shoigu" in chat["answer"]
    statuses = [fetch(app, "/api/ask?q=", source="127.0.0.6")[0] for _ in range(ASKS_PER_MINUTE + 2)]
    assert statuses == [200] * ASKS_PER_MINUTE + [429, 429]
    after = scrape(app)

    def moved(name: str) -> float:
        return after[name] - before[name]

    assert moved("newsdesk_questions_total{outcome=answered}") == 2  # the API and the chat
    assert moved("newsdesk_questions_total{outcome=abstained}") == 1 + ASKS_PER_MINUTE  # Peru, empty ones
    assert moved("newsdesk_questions_total{outcome=rate_limited}") == 2
    assert moved("newsdesk_answer_seconds_count") == 3 + ASKS_PER_MINUTE


def access_lines(log: Path, client: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "newsdesk.access" and line["client"] == client]


def test_the_access_log_has_one_json_line_per_request(app: Server) -> None:
    client = "127.0.0.7"  # this test's own address: other tests' requests are not counted
    fetch(app, "/healthz", source=client, login=False)
    fetch(app, "/metrics", source=client, login=False)
    fetch(app, "/api/ask?q=secret+question", source=client)
    deadline = time.monotonic() + 30
    while len(access_lines(app.log, client)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # a line too many would show now
    lines = access_lines(app.log, client)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 401),
        ("GET", "/api/ask", 200),
    ]
    assert all(isinstance(line["duration_ms"], float) and line["bytes"] > 0 for line in lines)
    assert "secret" not in app.log.read_text(), "questions (query strings) stay out of the log"


def test_metrics_can_be_opened_to_a_scraper_while_the_rest_wants_the_login(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(
        db=tmp_path / "index", home=tmp_path / "home", auth=":".join(LOGIN), metrics_open=True
    )
    with TestClient(build_app(Newsdesk(settings, embedder=embedder))) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/api/ask", params={"q": QUESTION}).status_code == 401


def test_a_request_that_fails_inside_is_logged_with_its_traceback_and_answered_plainly(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator finds the traceback in the log; the client gets a plain 500, never the error's text."""
    desk = Newsdesk(Settings(db=tmp_path / "index", home=tmp_path / "home", auth=":".join(LOGIN)), embedder)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk gone at /srv/secret/index")

    monkeypatch.setattr(type(desk.qa), "ask", broken)
    with TestClient(build_app(desk), raise_server_exceptions=False) as client:
        response = client.get("/api/ask", params={"q": QUESTION}, headers=BASIC)
    assert response.status_code == 500
    assert "secret" not in response.text and "internal error" in response.json()["detail"]
    [record] = [r for r in caplog.records if r.name == "newsdesk.serve" and r.exc_info]
    assert "/api/ask" in record.getMessage() and "disk gone" in str(record.exc_info[1])
