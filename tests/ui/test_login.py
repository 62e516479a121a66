"""A shared demo that cannot be guessed into, stalled or filled (issue 20), against a real
``newsdesk serve --auth-file`` process with a real auth file written by ``newsdesk passwd``.

1. One login check for every route: HTTP Basic on Gradio's routes counts failures like on ``/api/ask``
   (6 wrong passwords, then the right one: 429); wrong user, wrong password and missing credentials
   get one and the same answer; the right password passes Gradio's routes too (no second, different
   refusal that would tell a guesser it has the password); a Bearer ``user:password`` works the same.
2. A flood of wrong passwords (16 threads, 10 s) leaves ``/healthz`` answering, with no 5xx.
3. Gradio's upload route is closed (404) without NEWSDESK_UPLOAD_MAX_BYTES, and with it a 60 MB upload
   is refused before anything is stored.
4. A lone surrogate in ``question``, ``history``, ``source``, ``since`` over ``/api/ask``,
   ``/api/ask/stream`` and Gradio's ``/ask`` gets a clear message, never a 500.
5. The API descriptions are behind the login, and the chat page carries no API schema before it.
6. SIGTERM and SIGINT end ``serve`` the same clean way: exit 0, ``newsdesk: stopped``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradio_client import Client

from bench.live import request
from bench.login_flood import PASSWORD, USER, Reply, Served, flood, get, make_auth_file

QUESTION = "Who is visiting Beijing for security talks?"
RIGHT = f"{USER}:{PASSWORD}"


@dataclass
class Locked:
    server: Served
    auth: Path
    db: Path
    uploads: Path


def start(root: Path, db: Path, env: dict[str, str] | None = None) -> Locked:
    auth = root / "users.txt"
    if not auth.exists():
        make_auth_file(auth)
    uploads = root / "gradio-tmp"
    server = Served(db, auth, root / "server.log", env={"GRADIO_TEMP_DIR": str(uploads), **(env or {})})
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return Locked(server, auth, db, uploads)


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Locked]:
    root = tmp_path_factory.mktemp("locked")
    served = start(root, root / "index")  # indexes seeds/ on first start
    try:
        yield served
    finally:
        served.server.stop()


def served_copy(locked: Locked, root: Path, env: dict[str, str] | None = None) -> Locked:
    """Another server over a copy of the locked server's index (no second indexing of the seeds)."""
    shutil.copytree(locked.db, root / "index")
    shutil.copy(locked.auth, root / "users.txt")
    return start(root, root / "index", env)


def post(url: str, data: object, login: str | None = None, source: str | None = None) -> Reply:
    """POST ``data`` as JSON (``json.dumps`` keeps a lone surrogate as its escape, as a script sends it)."""
    reply = request(url, data, login=login, source_address=source)  # type: ignore[arg-type]
    status = int(reply.outcome) if reply.outcome.isdigit() else 0
    return Reply(status, reply.seconds, json.dumps(reply.body).encode() if reply.body is not None else b"")


# --------------------------------------------------------------------------------------------------
# 1. One login check for every route


def refusal(reply: Reply) -> tuple[int, bytes, str | None]:
    return reply.status, reply.body, reply.headers.get("www-authenticate")


def test_wrong_basic_passwords_on_gradio_routes_are_throttled_like_the_api(locked: Locked) -> None:
    url, attacker = locked.server.url, "127.0.0.2"
    wrong = [get(url, "/gradio_api/info", f"{USER}:guess{n}", attacker) for n in range(6)]
    assert [r.status for r in wrong[:5]] == [401] * 5, [r.status for r in wrong]
    assert wrong[5].status == 429 and int(wrong[5].headers["retry-after"]) > 0
    right = get(url, "/gradio_api/info", RIGHT, attacker)
    assert right.status == 429 and int(right.headers["retry-after"]) > 0, right
    assert post(f"{url}/api/ask", {"question": QUESTION}, RIGHT, attacker).status == 429
    elsewhere = get(url, "/gradio_api/info", RIGHT, "127.0.0.3")
    assert elsewhere.status == 200 and b"/ask" in elsewhere.body


def test_every_failed_login_gets_the_same_answer_and_the_right_one_passes_every_route(locked: Locked) -> None:
    url, client = locked.server.url, "127.0.0.4"
    failures = {
        "wrong password": get(url, "/gradio_api/info", f"{USER}:nope", client),
        "unknown user": get(url, "/gradio_api/info", f"nobody:{PASSWORD}", client),
        "no credentials": get(url, "/gradio_api/info", None, client),
        "a malformed header": get(url, "/gradio_api/config", "no-colon-here", client),
    }
    answers = {name: refusal(reply) for name, reply in failures.items()}
    assert len(set(answers.values())) == 1, answers
    status, body, challenge = answers["wrong password"]
    assert status == 401 and json.loads(body) == {"detail": "login required"} and challenge
    for path in ("/gradio_api/info", "/config", "/api/openapi.json"):
        assert get(url, path, RIGHT, client).status == 200, path
    answer = post(f"{url}/api/ask", {"question": QUESTION}, RIGHT, client)
    assert answer.status == 200 and b"Shoigu" in answer.body
    result = Client(url, auth=(USER, PASSWORD), verbose=False).predict(QUESTION, api_name="/ask")
    assert "Shoigu" in result["answer"]


def test_a_bearer_token_is_the_same_login(locked: Locked) -> None:
    import http.client

    def bearer(token: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", locked.server.port, timeout=60)
        try:
            connection.request("GET", "/gradio_api/info", headers={"Authorization": f"Bearer {token}"})
            return connection.getresponse().status
        finally:
            connection.close()

    assert bearer(RIGHT) == 200
    assert bearer(f"{USER}:wrong") == 401


# --------------------------------------------------------------------------------------------------
# 2. A flood of wrong passwords


@pytest.mark.timeout(180)
def test_a_flood_of_wrong_passwords_leaves_the_server_answering(locked: Locked) -> None:
    """16 threads for 10 s (bench/login_flood.py measures the latencies; BENCHMARKS.md has them)."""
    result = flood(locked.server.url, threads=16, seconds=10, addresses=4)
    assert result["healthz"]["samples"] >= 10 and result["healthz"]["failed"] == 0, result
    assert result["server_errors"] == 0 and "error" not in result["flood"], result
    assert set(result["flood"]) <= {"401", "429", "503"} and result["flood"].get("429"), result
    assert get(locked.server.url, "/gradio_api/info", RIGHT, "127.0.0.200").status == 200


# --------------------------------------------------------------------------------------------------
# 3. Uploads


def upload(port: int, size: int, login: str = RIGHT) -> tuple[int, float]:
    """Start a ``size``-byte multipart upload, sending at most the first MiB; the status the server
    answers with, and how many seconds it took."""
    import base64

    boundary = "newsdesk-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + size + len(tail)
    authorization = base64.b64encode(login.encode()).decode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(
            (
                "POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Basic {authorization}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
            + head
        )
        with contextlib.suppress(OSError):  # the server may answer and close before reading the body
            connection.sendall(b"\0" * min(size, 1 << 20) + (tail if size <= 1 << 20 else b""))
        status_line = connection.makefile("rb").readline().decode()
    return int(status_line.split()[1]), time.monotonic() - started


def broken_upload(port: int) -> int:
    """A multipart upload whose first file is fine and whose second part has no name: Gradio's parser
    has written the first to a temp file when it gives up (and leaves that file behind)."""
    import base64
    import http.client

    boundary = "newsdesk-broken"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.bin"\r\n\r\n'
        + "x" * 5000
        + f"\r\n--{boundary}\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n--{boundary}--\r\n"
    ).encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": "Basic " + base64.b64encode(RIGHT.encode()).decode(),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/gradio_api/upload", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_the_upload_route_is_closed_without_the_setting(locked: Locked) -> None:
    status, _ = upload(locked.server.port, 60 * 1024 * 1024)
    assert status == 404
    assert stored_files(locked.uploads) == []


@pytest.mark.timeout(300)
def test_an_upload_over_the_limit_is_refused_before_it_is_stored(locked: Locked, tmp_path: Path) -> None:
    served = served_copy(locked, tmp_path, {"NEWSDESK_UPLOAD_MAX_BYTES": str(1024 * 1024)})
    try:
        status, _ = upload(served.server.port, 60 * 1024 * 1024)
        assert status == 413
        assert stored_files(served.uploads) == []
        assert broken_upload(served.server.port) == 400  # Gradio's parser fails after a first file
        assert stored_files(served.uploads) == [], "a failed upload's temp files are removed"
        small, _ = upload(served.server.port, 1000)
        assert small == 200 and len(stored_files(served.uploads)) == 1
        assert upload(served.server.port, 1000, login=f"{USER}:wrong")[0] == 401
    finally:
        served.server.stop()


# --------------------------------------------------------------------------------------------------
# 4. Text that is not valid Unicode


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("question", "who is \ud800 visiting?"),
        ("history", [{"role": "user", "content": "hi \udcff"}]),
        ("source", ["Reu\ud800ters"]),
        ("since", "2023\udfff"),
    ],
)
def test_a_lone_surrogate_gets_a_clear_message_on_every_http_route(
    locked: Locked, field: str, value: object
) -> None:
    body = {"question": QUESTION, field: value}
    for route in ("/api/ask", "/api/ask/stream"):
        reply = post(f"{locked.server.url}{route}", body, RIGHT, "127.0.0.6")
        assert reply.status == 422, (route, reply)
        detail = json.loads(reply.body)["detail"]
        assert "not valid text" in str(detail) and "Traceback" not in str(detail), (route, detail)


def gradio_call(url: str, api_name: str, data: list[object]) -> tuple[str, object]:
    """Call a Gradio endpoint as a script does (``POST /gradio_api/call/NAME``, then its events), with
    JSON that keeps a lone surrogate as its escape (gradio_client cannot even send one): the last
    event's name and data."""
    import base64
    import urllib.request

    login = {"Authorization": "Basic " + base64.b64encode(RIGHT.encode()).decode()}
    started = urllib.request.Request(
        f"{url}/gradio_api/call/{api_name}",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json", **login},
    )
    with urllib.request.urlopen(started, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    events = urllib.request.Request(f"{url}/gradio_api/call/{api_name}/{event_id}", headers=login)
    with urllib.request.urlopen(events, timeout=120) as response:
        text = response.read().decode()
    blocks = [
        dict(line.split(": ", 1) for line in b.splitlines() if ": " in line) for b in text.split("\n\n")
    ]
    last = [b for b in blocks if "event" in b][-1]
    return last["event"], json.loads(last["data"]) if last.get("data", "null") != "null" else None


def test_a_lone_surrogate_in_the_gradio_endpoints_gets_a_polite_answer(locked: Locked) -> None:
    for arguments in (  # question, source, since, until, history, k, mode: a raw call sends them all
        ["who is \ud800 visiting?", None, "", "", None, None, None],
        [QUESTION, ["Reu\ud800ters"], "", "", None, None, None],
        [QUESTION, None, "2023\udfff", "", None, None, None],
        [QUESTION, None, "", "", [{"role": "user", "content": "hi \udcff"}], None, None],
    ):
        event, data = gradio_call(locked.server.url, "ask", arguments)
        assert event == "complete", (arguments, event, data)
        [result] = data  # type: ignore[misc]
        assert result["abstained"] is True and "not valid text" in result["answer"], (arguments, result)
        assert "Error" not in result["answer"], result
    chat = ["who is \ud800 visiting?", [], [], "", "", 5, "generated"]  # the filters panel's values too
    event, data = gradio_call(locked.server.url, "chat", chat)
    assert event == "complete", (event, data)
    history = data[0]  # type: ignore[index]
    content = history[-1]["content"]
    assert "not valid text" in (content if isinstance(content, str) else content[0]["text"])
    assert "\ufffd" in json.dumps(history[-2]["content"], ensure_ascii=False)


# --------------------------------------------------------------------------------------------------
# 5. The API descriptions


def test_the_api_descriptions_want_the_login_and_the_page_hides_the_schema_before_it(locked: Locked) -> None:
    url, client = locked.server.url, "127.0.0.7"
    for path in ("/api/docs", "/api/openapi.json", "/redoc", "/gradio_api/openapi.json", "/gradio_api/info"):
        assert get(url, path, None, client).status == 401, path
        assert get(url, path, RIGHT, client).status == 200, path
    page = get(url, "/", None, client)
    assert page.status == 200 and b'window.gradio_api_info = {"named_endpoints": {}, "unnamed' in page.body
    assert b'"/ask"' not in page.body and b"auth_required" in page.body
    assert get(url, "/healthz", None, client).status == 200


# --------------------------------------------------------------------------------------------------
# 6. Stopping


@pytest.mark.timeout(300)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_serve_cleanly(
    locked: Locked, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    served = served_copy(locked, tmp_path)
    served.server.process.send_signal(stop_signal)
    try:
        code = served.server.process.wait(timeout=30)
    finally:
        served.server.stop()
    log = served.server.log.read_text(errors="replace")
    assert code == 0, f"exit {code}: {log[-2000:]}"
    assert "newsdesk: stopped" in log and "Traceback" not in log, log[-2000:]


def test_the_command_line_refuses_bytes_that_are_not_utf8_with_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "ask", b"who is \xff Chloe?", "--db", str(tmp_path / "none")],
        capture_output=True,
        timeout=120,
    )
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 2 and "Traceback" not in stderr, stderr
    assert "the question is not valid text: the byte 0xFF at character 8 is not UTF-8" in stderr
    assert not (tmp_path / "none").exists()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsdesk.cli",
            "ask",
            QUESTION,
            "--source",
            b"Reu\xffters",
            "--db",
            str(tmp_path),
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2 and b"--source is not valid text" in done.stderr, done.stderr
