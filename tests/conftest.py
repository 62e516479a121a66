"""Shared fixtures: the real embedding model (loaded once) and real Chroma indexes in temp folders."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT, Settings
from newsdesk.index.embed import Embedder
from newsdesk.offline import go_offline
from newsdesk.rag.llm.backends import LocalServer
from newsdesk.wiring import Newsdesk
from tests.index.news_server import NewsServer
from tests.support import free_port

go_offline()  # the test session is an entry point too (the libraries that read it load lazily)

SEEDS = REPO_ROOT / "seeds"
SEED_ARTICLE = SEEDS / "china-russia-security-talks.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on loopback for the whole session."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    log = (tmp_path_factory.mktemp("chroma-server") / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path_factory.mktemp("chroma-data")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"chroma run did not start (see {log.name})")
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    """Integration tests that take this run against the embedded store and a real Chroma server."""
    return str(request.param)


@pytest.fixture
def make_desk(
    tmp_path: Path, embedder: Embedder, backend: str, request: pytest.FixtureRequest
) -> Callable[..., Newsdesk]:
    """A Newsdesk over a fresh index in tmp_path (or a fresh collection on the server), sharing the model."""

    def make(**overrides: object) -> Newsdesk:
        if backend == "server":
            overrides = {
                "chroma_url": request.getfixturevalue("chroma_url"),
                "collection": f"test-{uuid.uuid4().hex[:12]}",
                **overrides,
            }
        settings = Settings(db=tmp_path / "index", home=tmp_path / "home", **overrides)  # type: ignore[arg-type]
        return Newsdesk(settings, embedder=embedder)

    return make


@pytest.fixture
def seeded_desk(make_desk: Callable[..., Newsdesk]) -> Newsdesk:
    desk = make_desk()
    desk.indexer.index_paths([SEEDS])
    return desk


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The real SmolLM2-135M served by llama.cpp (xllamacpp) in this process on 127.0.0.1, behind a
    random API key: one per test session, shared by the ``local`` backend and the tests that point
    the ``openai`` backend (or an app process) at it."""
    from newsdesk.rag.llm.backends import shared_local_server, stop_shared_servers

    server = shared_local_server(Settings(llm="local"))
    server.start()
    yield server
    stop_shared_servers()


@pytest.fixture
def news_server() -> Iterator[NewsServer]:
    """A real HTTP server on 127.0.0.1 serving the pages and feeds a test sets (index/news_server.py)."""
    with NewsServer() as running:
        yield running


@pytest.fixture
def refused_listener() -> Iterator[socket.socket]:
    """A listener on 127.0.0.2: outside ``NEWSDESK_FETCH_ALLOW=127.0.0.1``, so a URL or redirect there must
    be refused before connecting (``accept`` then raises ``BlockingIOError``: nothing connected)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.2", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()
