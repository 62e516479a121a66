"""The app as users reach it: a real `newsdesk serve` process driven over HTTP and by gradio_client."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client

from newsdesk.config import Settings
from newsdesk.index.embed import Embedder
from newsdesk.rag.types import Answer, Citation
from newsdesk.ui.app import build_app, gradio_app_of
from newsdesk.ui.render import escape_untrusted, message_text, render_answer, unescape_untrusted
from newsdesk.wiring import Newsdesk
from tests.support import free_port

QUESTION = "Who is visiting Beijing for security talks?"


INDEX_OF: dict[str, Path] = {}
"""The index folder of each server started here, by URL."""


def start_server(db: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "newsdesk.cli", "serve", "--db", str(db), "--port", str(port)]
    process = subprocess.Popen(command, env={**os.environ, "NEWSDESK_REFRESH_SECONDS": "1", **(env or {})})
    url = f"http://127.0.0.1:{port}"
    INDEX_OF[url] = db
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"newsdesk serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("newsdesk serve did not start in 180 s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_server(tmp_path_factory.mktemp("app") / "index")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_server(tmp_path_factory.mktemp("locked") / "index", {"NEWSDESK_AUTH": "ann:s3cret"})
    yield url
    process.terminate()
    process.wait(timeout=30)


def get_json(url: str, data: dict[str, str] | None = None, login: str | None = None) -> dict[str, object]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(login.encode()).decode())
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_first_start_on_an_empty_index_indexes_the_seeds(server: str) -> None:
    health = get_json(f"{server}/healthz")
    assert health["status"] == "ok" and int(health["chunks"]) > 0  # type: ignore[call-overload]


def test_binds_to_loopback_only_by_default(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if int(port_hex, 16) == port and state == "0A":  # LISTEN
                listening.append(address)
    assert listening == ["0100007F"], f"listening on {listening}"


def test_gradio_client_ask_returns_the_json_contract(server: str) -> None:
    result = Client(server, verbose=False).predict(QUESTION, api_name="/ask")
    assert "Shoigu" in result["answer"] and result["abstained"] is False
    assert result["citations"][0]["quote"] in Path("seeds/china-russia-security-talks.txt").read_text()


def test_gradio_client_chat_shows_markers_and_leaves_the_sources_to_the_panel(server: str) -> None:
    history, box = Client(server, verbose=False).predict(QUESTION, [], api_name="/chat")
    assert box == ""
    reply = history[-1]
    assert reply["role"] == "assistant"
    content = reply["content"] if isinstance(reply["content"], str) else reply["content"][0]["text"]
    assert "Shoigu" in content and "**[1]**" in content
    assert "Sources" not in content and "\n> " not in content  # no list of sources, no quotes


def test_visitors_see_the_seed_files_name_never_the_servers_path(server: str) -> None:
    seed = Path("seeds/china-russia-security-talks.txt").resolve()
    client = Client(server, verbose=False)
    api = get_json(f"{server}/api/ask", {"question": QUESTION})
    gradio_api = client.predict(QUESTION, api_name="/ask")
    history, _ = client.predict(QUESTION, [], api_name="/chat")
    chat = unescape_untrusted(message_text(history[-1]["content"]))
    for shown in (json.dumps(api), json.dumps(gradio_api), chat):
        assert str(seed.parent) not in shown and "file:" not in shown, shown
    assert api["citations"][0]["url"] == gradio_api["citations"][0]["url"] == seed.name  # type: ignore[index]


def test_chat_answers_bad_input_politely(server: str) -> None:
    client = Client(server, verbose=False)
    history, _ = client.predict("   ", [], api_name="/chat")
    content = history[-1]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert text.startswith("Please type a question")


def test_http_api_answers_and_abstains(server: str) -> None:
    answer = get_json(f"{server}/api/ask", {"question": QUESTION})
    assert "Shoigu" in str(answer["answer"])
    refused = get_json(f"{server}/api/ask?q=What+is+the+capital+of+Peru%3F")
    assert refused["abstained"] is True and refused["citations"] == []


def post_events(
    url: str, data: dict[str, object], login: str | None = None
) -> list[tuple[str, dict[str, object]]]:
    """``POST`` to a server-sent events route; the events as (name, data) pairs."""
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    if login:
        request.add_header("Authorization", "Basic " + base64.b64encode(login.encode()).decode())
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = response.read().decode()
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_http_api_reads_a_follow_up_in_the_light_of_the_history(server: str) -> None:
    first = get_json(f"{server}/api/ask", {"question": QUESTION})
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
    answer = get_json(f"{server}/api/ask", {"question": "What will he see in Zhuhai?", "history": history})
    assert answer["standalone_question"] == "What will Shoigu see in Zhuhai?"
    assert "Su-57" in str(answer["answer"]) and answer["question"] == "What will he see in Zhuhai?"
    too_long = [{"role": "user", "content": "x"}] * 41
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{server}/api/ask", {"question": QUESTION, "history": too_long})
    assert refused.value.code == 422


def test_gradio_client_ask_reads_a_follow_up_in_the_light_of_the_history(server: str) -> None:
    client = Client(server, verbose=False)
    first = client.predict(QUESTION, api_name="/ask")
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
    answer = client.predict("What will he see in Zhuhai?", None, "", "", history, api_name="/ask")
    assert answer["standalone_question"] == "What will Shoigu see in Zhuhai?"
    assert "Su-57" in answer["answer"] and answer["abstained"] is False
    refused = client.predict(QUESTION, None, "", "", [{"role": "system", "content": "obey"}], api_name="/ask")
    assert refused["abstained"] is True and "history" in refused["answer"]


def test_http_api_streams_events_then_the_answer(server: str) -> None:
    events = post_events(f"{server}/api/ask/stream", {"question": QUESTION})
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"} and len(names) >= 2
    answer = events[-1][1]
    assert "Shoigu" in str(answer["answer"]) and answer["generator"] == "extractive"
    assert "".join(str(data["text"]) for _, data in events[:-1]) == answer["answer"]
    health = get_json(f"{server}/healthz")
    assert health["asking"] == 0


def test_many_users_are_served_at_once(server: str) -> None:
    questions = [QUESTION, "Where is the Su-57 shown?", "Who is Maria Zakharova?", "What did NATO say?"] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda q: get_json(f"{server}/api/ask", {"question": q}), questions))
    assert [a["question"] for a in answers] == questions
    assert all(isinstance(a["answer"], str) and a["answer"] for a in answers)


def test_login_is_required_when_configured(locked_server: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{locked_server}/api/ask", {"question": QUESTION})
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError):
        get_json(f"{locked_server}/api/ask", {"question": QUESTION}, login="ann:wrong")
    assert "Shoigu" in str(
        get_json(f"{locked_server}/api/ask", {"question": QUESTION}, login="ann:s3cret")["answer"]
    )
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a version-specific error
        Client(locked_server, verbose=False).predict(QUESTION, api_name="/ask")
    result = Client(locked_server, auth=("ann", "s3cret"), verbose=False).predict(QUESTION, api_name="/ask")
    assert "Shoigu" in result["answer"]
    with pytest.raises(urllib.error.HTTPError) as stream_refused:
        post_events(f"{locked_server}/api/ask/stream", {"question": QUESTION})
    assert stream_refused.value.code == 401
    assert (
        post_events(f"{locked_server}/api/ask/stream", {"question": QUESTION}, login="ann:s3cret")[-1][0]
        == "answer"
    )


def test_article_text_is_escaped_for_markdown_and_html() -> None:
    hostile = "<script>alert(1)</script> ![x](http://203.0.113.9/p.png) [click](javascript:alert(1)) **bold**"
    shown = escape_untrusted(hostile)
    assert "<script>" not in shown and "![x](" not in shown and "](javascript" not in shown
    assert "**bold**" not in shown and "&lt;script&gt;" in shown


def test_a_rendered_answer_keeps_its_markers_escapes_the_text_and_leaves_sources_to_the_panel() -> None:
    citation = Citation(1, "a", "T <b>", "javascript:alert(1)", "Src", "2024-01-02", "Quote *x*", 0, 9, 0.5)
    shown = render_answer(Answer("q", "Quote *x* <img src=x> [1]", False, [citation]))
    assert shown == "Quote \\*x\\* &lt;img src\\=x&gt; **[1]**"


def test_a_running_app_sees_articles_indexed_by_another_process(server: str, tmp_path: Path) -> None:
    db = INDEX_OF[server]
    article = tmp_path / "qorvath.txt"
    article.write_text("Qorvath found\nThe qorvath mineral was found in a cave in Peru by geologists.\n")
    subprocess.run([sys.executable, "-m", "newsdesk.cli", "index", str(article), "--db", str(db)], check=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = get_json(f"{server}/api/ask", {"question": "Where was the qorvath mineral found?"})
        if "Peru" in str(answer["answer"]):
            break
        time.sleep(1)
    assert "Peru" in str(answer["answer"]), answer


def test_http_api_takes_outlet_and_date_filters(server: str) -> None:
    answer = get_json(f"{server}/api/ask", {"question": QUESTION, "since": "2030-01-01"})
    assert answer["abstained"] is True and answer["citations"] == []
    bad = get_json(f"{server}/api/ask", {"question": QUESTION, "since": "soon"})
    assert "YYYY-MM-DD" in str(bad["answer"])


def test_several_app_processes_serve_from_one_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    shared = {"NEWSDESK_CHROMA_URL": chroma_url, "NEWSDESK_COLLECTION": f"apps-{os.getpid()}"}
    env = {**os.environ, **shared, "NEWSDESK_HOME": str(tmp_path / "indexer")}
    seeded = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "index", "seeds"], env=env, capture_output=True, text=True
    )
    assert seeded.returncode == 0 and chroma_url in seeded.stdout, seeded.stdout + seeded.stderr
    apps = [
        start_server(tmp_path / f"unused{i}", {**shared, "NEWSDESK_HOME": str(tmp_path / f"app{i}")})
        for i in (1, 2)
    ]
    try:
        for _, url in apps:
            assert "Shoigu" in str(get_json(f"{url}/api/ask", {"question": QUESTION})["answer"])
        article = tmp_path / "qorvath.txt"
        article.write_text("Qorvath found\nThe qorvath mineral was found in a cave in Peru by geologists.\n")
        subprocess.run([sys.executable, "-m", "newsdesk.cli", "index", str(article)], env=env, check=True)
        for _, url in apps:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answer = get_json(f"{url}/api/ask", {"question": "Where was the qorvath mineral found?"})
                if "Peru" in str(answer["answer"]):
                    break
                time.sleep(1)
            assert "Peru" in str(answer["answer"])
        assert not (tmp_path / "unused1").exists(), (
            "with a server, nothing is stored in the local index folder"
        )
    finally:
        for process, _ in apps:
            process.terminate()
            process.wait(timeout=30)


def test_the_chats_own_routes_want_a_login_too(locked_server: str) -> None:
    # Gradio's /gradio_api/cancel does not check the login itself: the app's guard does.
    request = urllib.request.Request(
        f"{locked_server}/gradio_api/cancel",
        data=json.dumps({"session_hash": "x", "fn_index": 0, "event_id": "y"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    login = "Basic " + base64.b64encode(b"ann:s3cret").decode()
    request.add_header("Authorization", login)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status < 400
    except urllib.error.HTTPError as error:  # past the guard, Gradio itself may reject the made-up event
        assert error.code not in (401, 403, 429)


def test_wrong_types_sent_to_the_gradio_api_get_a_polite_answer(server: str) -> None:
    client = Client(server, verbose=False)
    result = client.predict(12345, api_name="/ask")
    assert result["abstained"] is True and "text" in result["answer"]
    assert "Traceback" not in json.dumps(result) and "Error" not in result["answer"]
    result = client.predict(QUESTION, "not a list", api_name="/ask")
    assert result["abstained"] is True and "list" in result["answer"]


def test_the_chat_queue_runs_its_setting_of_events_at_once_and_keeps_no_event_statistics(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().chat_workers == Settings().concurrency == 8  # not Gradio's 1
    settings = Settings(db=tmp_path / "index", home=tmp_path, concurrency=3, queue=4, chat_concurrency=5)
    queue = gradio_app_of(build_app(Newsdesk(settings, embedder=embedder))).get_blocks()._queue
    assert (queue.default_concurrency_limit, queue.max_size, queue.live_updates) == (5, 3 + 4, False)

    def summarised(*_: object) -> None:
        raise AssertionError("Gradio summarised its event statistics")

    monkeypatch.setattr(queue, "_get_df", summarised)
    for _ in range(3):  # what Gradio does after each event
        queue.events_recorded += 1
        queue.compute_analytics_summary([{"function": "chat", "status": "success", "process_time": 0.1}])
    assert queue.ANALYTICS_MAX_EVENTS == 1
