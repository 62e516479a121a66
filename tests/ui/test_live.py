"""A live server while other processes write to its index, under load: what `newsdesk serve` must hold.

Every test drives a real `newsdesk serve` process over HTTP; the writers are real separate processes
(`newsdesk index`, or one long-lived indexing process fed article paths on stdin). They pin:

1. Indexing while serving: rounds of a few hundred new .txt files plus rewritten articles, indexed by
   `newsdesk index` into the served --db while clients ask: no request fails or hangs, and every
   rewritten article's new fact is answered within 3 x NEWSDESK_REFRESH_SECONDS + 10 s of the end
   of its indexing process (the refresh thread once deadlocked here and the view froze).
2. A question that retrieves a chunk just replaced by a rewrite never gets a 5xx (it was a 500,
   TypeError at ``dict(m)`` in the store).
3. SIGTERM under load (clients asking, a chat page open, an indexing run being picked up) ends the
   process within 15 s.
4. Memory does not grow with refreshes: RSS after 20 picked-up updates within 10% of RSS after the
   first.
5. NEWSDESK_CONCURRENCY bounds /api/ask: past it and NEWSDESK_QUEUE the JSON API sheds with 503 and
   Retry-After; `/healthz` reports the load (`asking`, `waiting`, `peak_asking`) and the refresh
   state (`generation`, `refreshed`).
6. Failed logins are throttled per client address (NEWSDESK_LOGIN_ATTEMPTS, default 5/minute), on
   HTTP Basic (/api/ask) and on the chat's login form (POST /login): 429 with Retry-After, even
   for the right password, while other addresses still get in.

Server logs are in pytest's temp folders; a failing assertion names the log. The helpers (made-up
corpus, server process, HTTP client, load threads) are shared with bench/live.py, the soak version.
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from bench.live import (
    Changes,
    LiveCorpus,
    Load,
    Reply,
    Server,
    ask,
    change_question,
    child_environment,
    request,
    run_index,
)
from newsdesk.config import REPO_ROOT

REFRESH_SECONDS = 1.0
PICKUP_SECONDS = REFRESH_SECONDS * 3 + 10
"""How long after an indexing process ends its changes must be answered."""
REQUEST_TIMEOUT = 30.0
QUESTIONS = [
    "Who is visiting Beijing for security talks?",
    "Where will Russia's Su-57 fighter be shown?",
    "What did Maria Zakharova say about the partnership?",
]
NO_RATE_LIMIT = {"NEWSDESK_RATE_LIMIT": "1000000/minute"}  # every test client asks from 127.0.0.1


@dataclass
class Live:
    """A served index whose seed folder holds the seeds and the corpus's changing articles."""

    server: Server
    corpus: LiveCorpus
    db: Path
    home: Path


def start_live(root: Path, changed: int) -> Live:
    """Seeds plus ``changed`` articles, indexed by the server itself on first start (NEWSDESK_SEEDS)."""
    articles = root / "articles"
    corpus = LiveCorpus(articles, changed)
    corpus.rewrite()
    shutil.copytree(REPO_ROOT / "seeds", articles / "seeds")
    db, home = root / "index", root / "home"
    server = Server(
        db,
        home,
        root / "server.log",
        {
            "NEWSDESK_REFRESH_SECONDS": f"{REFRESH_SECONDS:g}",
            "NEWSDESK_SEEDS": str(articles),
            **NO_RATE_LIMIT,
        },
    )
    try:
        server.wait_ready()
    except BaseException:
        server.kill()
        raise
    return Live(server, corpus, db, home)


def stop(server: Server) -> None:
    try:
        server.terminate()
    finally:
        server.kill()


class IndexWorker:
    """One indexing process that stays up: each path written to its stdin is indexed, then reported.

    A `newsdesk index` process per update would spend most of its time starting; this one loads the
    model once and indexes with the same ``Indexer.index_paths`` as `newsdesk index`.
    """

    SCRIPT = (
        "import sys\n"
        "from pathlib import Path\n"
        "from newsdesk.cli import go_offline\n"
        "go_offline()\n"
        "from newsdesk.config import Settings\n"
        "from newsdesk.wiring import Newsdesk\n"
        "desk = Newsdesk(Settings(db=Path(sys.argv[1])))\n"
        "desk.embedder.warm_up()\n"
        "print('ready', flush=True)\n"
        "for line in sys.stdin:\n"
        "    print(desk.indexer.index_paths([Path(line.strip())]).summary(), flush=True)\n"
    )

    def __init__(self, live: Live, log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT, str(live.db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=child_environment(live.home),
        )
        assert self._line() == "ready", f"the indexing process did not start (see {log})"

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def index(self, path: Path) -> float:
        """Index one file; returns when the indexing finished (time.monotonic())."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        summary = self._line()
        assert "updated 1" in summary or "added 1" in summary, summary
        return time.monotonic()

    def close(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
            self.log.close()


def wait_for_fact(url: str, town: str, fact: str, deadline: float) -> tuple[float | None, list[Reply]]:
    """Ask about ``town`` until an answer quotes ``fact``: when it came (or None), and every reply."""
    replies: list[Reply] = []
    while time.monotonic() < deadline:
        reply = ask(url, change_question(town), timeout=REQUEST_TIMEOUT)
        replies.append(reply)
        if reply.ok and fact in reply.answer:
            return reply.started + reply.seconds, replies
        time.sleep(0.2)
    return None, replies


def outcomes(replies: Sequence[Reply]) -> Counter[str]:
    return Counter(r.outcome for r in replies)


def retry_after_seconds(reply: Reply) -> float:
    assert reply.retry_after is not None, f"{reply.outcome} without Retry-After"
    return float(reply.retry_after)


# --------------------------------------------------------------------------------------------------
# 1. Indexing while serving


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    served = start_live(tmp_path, changed=5)
    try:
        yield served
    finally:
        stop(served.server)


@pytest.mark.timeout(300)
def test_indexing_while_serving_fails_no_request_and_every_change_is_answered(live: Live) -> None:
    server, corpus = live.server, live.corpus
    changes = Changes(corpus)
    load = Load(server.url, 3, QUESTIONS, changes, change_share=0.5, timeout=REQUEST_TIMEOUT)
    index_log = live.db.parent / "index.log"
    late: list[str] = []
    load.start()
    try:
        for number in range(1, 4):
            folder = corpus.new_files(f"r{number}", 200)
            facts = corpus.rewrite()
            changes.start_round(facts)
            indexed = run_index(live.db, [folder, corpus.changing], live.home, index_log, timeout=180)
            assert indexed.returncode == 0, f"newsdesk index failed (see {index_log})"
            deadline = indexed.finished + PICKUP_SECONDS
            while changes.pending() and time.monotonic() < deadline:
                for town in changes.pending():
                    load.ask_change(town)
                time.sleep(0.2)
            with changes.lock:
                for town in facts:
                    seen = changes.seen.get(town)
                    if seen is None or seen - indexed.finished > PICKUP_SECONDS:
                        after = "never" if seen is None else f"{seen - indexed.finished:.1f} s"
                        late.append(f"round {number}, {town}: {after}")
    finally:
        load.finish()
    hung = [t.name for t in load.threads if t.is_alive()]
    counts = outcomes([s.reply for s in load.samples])
    problems = []
    if hung:
        problems.append(f"clients still waiting for an answer: {hung}")
    if set(counts) != {"200"}:
        problems.append(f"requests that failed: {dict(counts)}")
    if late:
        problems.append(f"changes not answered within {PICKUP_SECONDS:g} s of their indexing run: {late}")
    if server.process.poll() is not None:
        problems.append(f"the server exited with {server.process.returncode}")
    assert not problems, "; ".join(problems) + f" (server log {server.log})"


# --------------------------------------------------------------------------------------------------
# 2 and 4. One article rewritten again and again


@pytest.fixture
def rewrites(tmp_path: Path) -> Iterator[tuple[Live, IndexWorker]]:
    """A server of its own for each test: a view frozen by one test must not fail the other."""
    root = tmp_path
    served = start_live(root, changed=2)
    worker: IndexWorker | None = None
    try:
        worker = IndexWorker(served, root / "worker.log")
        yield served, worker
    finally:
        try:
            if worker is not None:
                worker.close()
        finally:
            stop(served.server)


@pytest.mark.timeout(240)
def test_a_question_hitting_a_just_replaced_chunk_never_gets_a_server_error(
    rewrites: tuple[Live, IndexWorker],
) -> None:
    served, worker = rewrites
    server, town = served.server, served.corpus.towns[0]
    load = Load(server.url, 2, [change_question(town)], Changes(served.corpus), change_share=0.0)
    probes: list[Reply] = []
    missed: list[str] = []
    load.start()
    try:
        for _ in range(8):
            fact = served.corpus.rewrite([town])[town]
            finished = worker.index(served.corpus.path_of(town))
            seen, replies = wait_for_fact(server.url, town, fact, finished + PICKUP_SECONDS)
            probes.extend(replies)
            if seen is None:
                missed.append(fact)
    finally:
        load.finish()
    counts = outcomes([s.reply for s in load.samples] + probes)
    server_errors = {k: n for k, n in counts.items() if k.startswith("5")}
    problems = []
    if server_errors:
        problems.append(f"server errors while the article was replaced: {server_errors} of {counts.total()}")
    if set(counts) - {"200"} - set(server_errors):
        problems.append(f"requests that failed otherwise: {dict(counts)}")
    if missed:
        problems.append(f"rewrites never answered: {len(missed)} of 8")
    assert not problems, "; ".join(problems) + f" (server log {server.log})"


@pytest.mark.timeout(300)
def test_memory_does_not_grow_with_refreshes(rewrites: tuple[Live, IndexWorker]) -> None:
    """20 one-article updates, each picked up, while three clients ask (reported: 400 -> 599 MB)."""
    served, worker = rewrites
    server, town = served.server, served.corpus.towns[1]

    def update() -> None:
        fact = served.corpus.rewrite([town])[town]
        finished = worker.index(served.corpus.path_of(town))
        seen, replies = wait_for_fact(server.url, town, fact, finished + PICKUP_SECONDS)
        assert seen is not None, f"update not answered: {outcomes(replies)} (server log {server.log})"

    def settled_rss_kib() -> int:
        for question in QUESTIONS * 3:  # the same asks each time, so caches are equally warm
            ask(server.url, question, timeout=REQUEST_TIMEOUT)
        samples = []
        for _ in range(5):
            samples.append(server.status()[0])
            time.sleep(0.2)
        return int(statistics.median(samples))

    load = Load(server.url, 3, QUESTIONS, Changes(served.corpus), change_share=0.0)
    load.start()
    try:
        update()
        first, health_first = settled_rss_kib(), request(f"{server.url}/healthz").body or {}
        for _ in range(19):
            update()
        last, health_last = settled_rss_kib(), request(f"{server.url}/healthz").body or {}
    finally:
        load.finish()
    threads = server.status()[1]
    assert last <= first * 1.10, (
        f"RSS grew from {first / 1024:.0f} MiB after the first refresh to {last / 1024:.0f} MiB "
        f"after the 20th (+{(last / first - 1) * 100:.0f}%; {threads} threads now)"
    )
    assert "generation" in health_first and "generation" in health_last, health_last
    assert int(health_last["generation"]) > int(health_first["generation"]), (health_first, health_last)


# --------------------------------------------------------------------------------------------------
# 3. SIGTERM under load


class ChatPage:
    """What an open chat tab keeps open: Gradio's heartbeat stream (server-sent events), read till closed."""

    def __init__(self, server: Server) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.connection.request("GET", f"/gradio_api/heartbeat/{uuid.uuid4().hex[:11]}")
        self.response = self.connection.getresponse()
        assert self.response.status == 200, f"no heartbeat stream (server log {server.log})"
        self.thread = threading.Thread(target=self._read, name="chat-page", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while self.response.readline():
                pass
        except (OSError, http.client.HTTPException):
            pass

    def close(self) -> None:
        self.connection.close()


@pytest.mark.timeout(240)
def test_sigterm_under_load_ends_the_process_within_15_seconds(tmp_path: Path) -> None:
    """Clients asking, a chat page open, an indexing run being picked up: then SIGTERM."""
    served = start_live(tmp_path, changed=3)
    server = served.server
    load = Load(server.url, 8, QUESTIONS, Changes(served.corpus), change_share=0.5, timeout=REQUEST_TIMEOUT)
    page: ChatPage | None = None
    try:
        page = ChatPage(server)
        load.start()
        folder = served.corpus.new_files("r1", 100)
        served.corpus.rewrite()
        index_log = tmp_path / "index.log"
        indexed = run_index(served.db, [folder, served.corpus.changing], served.home, index_log, timeout=180)
        assert indexed.returncode == 0, f"newsdesk index failed (see {index_log})"
        time.sleep(REFRESH_SECONDS + 0.5)  # the server is picking the run up, under load
        answered = sum(1 for s in load.samples if s.reply.ok)
        assert answered > 0 and server.process.poll() is None, f"see {server.log}"
        took = server.terminate()
        recent = outcomes([s.reply for s in load.samples if s.finished > indexed.finished])
        assert took is not None, (
            f"still running 15 s after SIGTERM (killed); asks since the indexing run: {dict(recent)}, "
            f"a chat page open (server log {server.log})"
        )
        assert took <= 15
    finally:
        load.stop.set()
        if page is not None:
            page.close()
        server.kill()
        load.finish()


# --------------------------------------------------------------------------------------------------
# 5. The concurrency limit and /healthz


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limited")
    env = {
        "NEWSDESK_CONCURRENCY": "2",
        "NEWSDESK_QUEUE": "4",
        "NEWSDESK_REFRESH_SECONDS": f"{REFRESH_SECONDS:g}",
    }
    server = Server(root / "index", root / "home", root / "server.log", env)  # indexes seeds/ first
    try:
        server.wait_ready()
        yield server
    finally:
        stop(server)


def test_healthz_reports_load_and_refresh_state(limited: Server) -> None:
    deadline = time.monotonic() + PICKUP_SECONDS
    while True:  # `refreshed` is set by the first refresh check, NEWSDESK_REFRESH_SECONDS after start
        health = request(f"{limited.url}/healthz").body
        assert health is not None and health["status"] == "ok", health
        if health.get("refreshed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for name in ("chunks", "asking", "waiting", "peak_asking", "generation"):
        assert isinstance(health.get(name), int), (name, health)
    assert health["chunks"] > 0 and health["asking"] >= 0 and health["waiting"] >= 0
    assert datetime.fromisoformat(str(health["refreshed"])).year >= 2024, health


@pytest.mark.timeout(180)
def test_the_json_api_answers_at_most_concurrency_questions_at_once(limited: Server) -> None:
    assert ask(limited.url, QUESTIONS[0]).ok  # warm
    start = threading.Barrier(40)

    def fire(number: int) -> Reply:
        start.wait()
        return ask(limited.url, QUESTIONS[number % len(QUESTIONS)], timeout=60)

    replies: list[Reply] = [Reply("unset", 0, 0)] * 40

    def client(number: int) -> None:
        replies[number] = fire(number)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    counts = outcomes(replies)
    assert set(counts) <= {"200", "503"}, f"{counts} (server log {limited.log})"
    assert counts["503"] >= 1, f"40 questions at once with 2 slots and 4 queued, none shed: {counts}"
    for reply in replies:
        if reply.outcome == "503":
            assert retry_after_seconds(reply) >= 0
        else:
            assert reply.body is not None and reply.body["answer"]
    health = request(f"{limited.url}/healthz").body
    assert health is not None and health["peak_asking"] <= 2, health


# --------------------------------------------------------------------------------------------------
# 6. Failed-login throttling


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("locked")
    server = Server(root / "index", root / "home", root / "server.log", {"NEWSDESK_AUTH": "ann:s3cret"})
    try:
        server.wait_ready()
        yield server
    finally:
        stop(server)


def assert_throttled_after_five(replies: Sequence[Reply], refused: str) -> None:
    """The first attempts are refused as wrong (``refused``), at most 5 of them, then 429 with Retry-After."""
    kinds = [r.outcome for r in replies]
    assert kinds[0] == refused, kinds
    assert "429" in kinds, f"20 wrong logins, never throttled: {kinds}"
    first = kinds.index("429")
    assert first <= 5, f"throttled only after {first} failed logins: {kinds}"
    assert set(kinds[:first]) == {refused} and set(kinds[first:]) == {"429"}, kinds
    for reply in replies[first:]:
        assert retry_after_seconds(reply) > 0


def test_failed_basic_logins_are_throttled_per_client_address(locked: Server) -> None:
    attacker, bystander = "127.0.0.2", "127.0.0.4"
    body = {"question": QUESTIONS[0]}
    wrong = [
        request(f"{locked.url}/api/ask", body, login="ann:wrong", source_address=attacker) for _ in range(20)
    ]
    assert_throttled_after_five(wrong, "401")
    right = request(f"{locked.url}/api/ask", body, login="ann:s3cret", source_address=attacker)
    assert right.outcome == "429" and retry_after_seconds(right) > 0, right
    other = request(f"{locked.url}/api/ask", body, login="ann:s3cret", source_address=bystander)
    assert other.ok and "Shoigu" in other.answer, other


def test_failed_chat_logins_are_throttled_per_client_address(locked: Server) -> None:
    attacker, bystander = "127.0.0.3", "127.0.0.5"
    url = f"{locked.url}/login"
    wrong = [
        request(url, form={"username": "ann", "password": "wrong"}, source_address=attacker)
        for _ in range(20)
    ]
    assert_throttled_after_five(wrong, "400")  # Gradio refuses wrong credentials with 400
    right = request(url, form={"username": "ann", "password": "s3cret"}, source_address=attacker)
    assert right.outcome == "429" and retry_after_seconds(right) > 0, right
    other = request(url, form={"username": "ann", "password": "s3cret"}, source_address=bystander)
    assert other.ok and other.body == {"success": True}, other
