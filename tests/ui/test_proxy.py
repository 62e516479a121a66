"""The hosting recipe, run: a real nginx with deploy/nginx.conf in front of a real `newsdesk serve`.

nginx (Debian's package, installed by `make test` where root) runs unprivileged (as ``nobody`` when
the tests run as root) on a free port of 127.0.0.1, with a config made from the deploy template
(only its upstream and listen lines are changed). The app listens on 127.0.0.1 under the sub-path
``/newsdesk``, believes X-Forwarded-For from 127.0.0.1 only (NEWSDESK_TRUSTED_PROXIES, nginx's own
address), and writes answers with the session's real SmolLM2 (llama.cpp), so that an answer streams
over time. Visitors are told apart by the loopback address they connect from (127.0.0.2, .3, ...).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from bench.live import Server
from newsdesk.config import REPO_ROOT
from newsdesk.rag.llm.backends import LocalServer
from tests.conftest import SEED_ARTICLE
from tests.support import free_port

pytestmark = pytest.mark.llm
QUESTION = "Who is visiting Beijing for security talks?"
PREFIX = "/newsdesk"
ASKS_PER_MINUTE = 3
TEMPLATE = REPO_ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(template: str, app_port: int, nginx_port: int, work: Path) -> str:
    """The deploy template with its upstream and listen lines pointed at this test, inside a minimal
    main config whose files all live in ``work``."""
    for old, new in (
        ("server 127.0.0.1:7860;", f"server 127.0.0.1:{app_port};"),
        ("listen 80;", f"listen 127.0.0.1:{nginx_port};"),
    ):
        assert template.count(old) == 1, f"the template must hold {old!r} once"
        template = template.replace(old, new)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp_paths = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in kinds)
    return (
        f"daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} info;\n"
        f"events {{ worker_connections 128; }}\n"
        f"http {{\n    access_log {work / 'access.log'};\n{temp_paths}\n{template}\n}}\n"
    )


@dataclass
class Site:
    proxy: str  # nginx, with the sub-path: http://127.0.0.1:PORT/newsdesk
    app: Server  # newsdesk serve, reached directly


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nginx did not listen on {port}: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, local_server: LocalServer) -> Iterator[Site]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: `make test` installs it as root (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("proxy")
    app = Server(
        folder / "index",
        folder / "home",
        folder / "app.log",
        {
            "NEWSDESK_ROOT_PATH": PREFIX,
            "NEWSDESK_TRUSTED_PROXIES": "127.0.0.1",
            "NEWSDESK_RATE_LIMIT": f"{ASKS_PER_MINUTE}/minute",
            "NEWSDESK_LLM": "openai",
            "NEWSDESK_LLM_BASE_URL": local_server.url,
            "NEWSDESK_LLM_API_KEY": local_server.api_key,
            "NEWSDESK_LLM_STYLE": "compose",
            "NEWSDESK_LLM_MAX_TOKENS": "200",
        },
    )
    work = Path(tempfile.mkdtemp(prefix="newsdesk-nginx-"))  # outside pytest's 0700 folders
    run_as: list[str] = []
    if os.geteuid() == 0:  # nginx must not need root: run it as nobody, in a folder nobody owns
        os.chown(work, 65534, 65534)
        run_as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    config = work / "nginx.conf"
    nginx_port = free_port()
    config.write_text(nginx_config(TEMPLATE.read_text(), app.port, nginx_port, work))
    log = work / "error.log"
    command = [*run_as, NGINX, "-p", str(work), "-c", str(config), "-e", str(log)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(nginx_port, nginx, log)
        app.wait_ready()
        yield Site(f"http://127.0.0.1:{nginx_port}{PREFIX}", app)
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        app.terminate()
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    url: str,
    source: str = "127.0.0.1",
    method: str = "GET",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request sent from the loopback address ``source``."""
    parts = urllib.request.urlparse(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=180, source_address=(source, 0)
    )
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def test_the_chat_page_answers_through_the_proxy_under_its_sub_path(site: Site) -> None:
    page = fetch(f"{site.proxy}/")
    assert page.status == 200 and b"gradio" in page.body.lower()
    config = fetch(f"{site.proxy}/config").json()
    assert config["root"].endswith(PREFIX), config["root"]  # the page's links carry the sub-path
    assert fetch(site.proxy).status == 301  # /newsdesk without its slash is sent to /newsdesk/
    result = Client(f"{site.proxy}/", verbose=False).predict(QUESTION, api_name="/ask")
    assert result["citations"] and result["citations"][0]["quote"] in SEED_ARTICLE.read_text()


def test_the_http_api_answers_through_the_proxy(site: Site) -> None:
    answer = fetch(f"{site.proxy}/api/ask", body={"question": QUESTION}, method="POST")
    assert answer.status == 200, answer.body
    payload = answer.json()
    assert payload["abstained"] is False and payload["citations"]
    assert payload["citations"][0]["quote"] in SEED_ARTICLE.read_text()


def test_server_sent_events_pass_through_as_they_are_written(site: Site) -> None:
    """The first event reaches the client while the app is still answering (a buffering proxy would
    hold every event until the answer was complete, when nothing is being answered any more)."""
    parts = urllib.request.urlparse(f"{site.proxy}/api/ask/stream")
    connection = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=180, source_address=("127.0.0.5", 0)
    )
    connection.request(
        "POST", parts.path, json.dumps({"question": QUESTION}), {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream")
    events: list[str] = []
    answering_at_first_delta: int | None = None
    while not events or events[-1] != "answer":
        line = response.readline()
        assert line, f"the stream ended after {events}"
        if line.startswith(b"event: "):
            events.append(line[7:].strip().decode())
            if events == ["delta"]:
                health = json.loads(urllib.request.urlopen(f"{site.app.url}/healthz", timeout=30).read())
                answering_at_first_delta = health["asking"]
    connection.close()
    assert events.count("delta") >= 2, events
    assert answering_at_first_delta == 1, "the first event arrived only after the answer was complete"
    assert eventually_idle(site.app.url), "the probe must see the end of answering too"


def eventually_idle(app_url: str) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if json.loads(urllib.request.urlopen(f"{app_url}/healthz", timeout=30).read())["asking"] == 0:
            return True
        time.sleep(0.2)
    return False


def ask_until_refused(url: str, source: str, forged: str | None = None) -> list[int]:
    """Statuses of ``ASKS_PER_MINUTE + 1`` quick asks (an empty question: answered without the model,
    counted all the same), each with a different forged X-Forwarded-For when ``forged`` is given."""
    statuses = []
    for n in range(ASKS_PER_MINUTE + 1):
        headers = {"X-Forwarded-For": f"{forged}{n}"} if forged else {}
        statuses.append(fetch(f"{url}/api/ask?q=", source=source, headers=headers).status)
    return statuses


def test_visitors_behind_the_proxy_get_rate_limits_of_their_own(site: Site) -> None:
    limited = [200] * ASKS_PER_MINUTE + [429]
    # Visitor A writes a new X-Forwarded-For each time: nginx appends the address it saw, which wins.
    assert ask_until_refused(site.proxy, "127.0.0.2", forged="127.0.1.") == limited
    assert ask_until_refused(site.proxy, "127.0.0.3") == limited  # visitor B still had all of its own
    log = site.app.log.read_text(errors="replace")
    clients = [json.loads(line)["client"] for line in log.splitlines() if '"newsdesk.access"' in line]
    assert "127.0.0.2" in clients and "127.0.0.3" in clients
    assert not any(client.startswith("127.0.1.") for client in clients), "a forged address was believed"


def test_a_direct_client_cannot_choose_its_address_with_a_forged_header(site: Site) -> None:
    # Straight to the app from 127.0.0.4, not a trusted proxy: its X-Forwarded-For is ignored.
    assert ask_until_refused(site.app.url, "127.0.0.4", forged="127.0.2.") == [200] * ASKS_PER_MINUTE + [429]
