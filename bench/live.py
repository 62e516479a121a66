"""Soak test: a live ``newsdesk serve`` answering while ``newsdesk index`` writes to the same index.

What it runs, all as real processes on this machine:

- a base corpus (default: the multihop-news articles) plus ``--changed`` small articles that will be
  rewritten, indexed by ``newsdesk index`` into a fresh temp ``--db``;
- ``newsdesk serve`` over that index on a free port (``NEWSDESK_REFRESH_SECONDS`` from
  ``--refresh-seconds``), its stdout and stderr in ``server.log``;
- ``--clients`` threads asking ``POST /api/ask`` in a loop, each question drawn from a mix: the base
  corpus's questions, and questions about the articles being changed;
- per round, a ``newsdesk index`` process into the same ``--db`` that adds a folder of new small .txt
  files (``--new-files`` in the first round, ``--later-files`` after) and the ``--changed`` articles,
  each rewritten with a round-specific made-up name (the harbour master a made-up town's board
  named). A change is *answerable* once an answer to its question quotes that name; the table says
  how long after the indexing process exited that happened (negative: before it exited, as the
  index is written batch by batch).

Per round it reports requests, failures, shed load, p50/p95 latency of answered requests, the
server's RSS and thread count (``/proc/<pid>/status``), ``/healthz`` errors and its ``generation``,
and the changes that became answerable. At the end the server gets SIGTERM and must exit within 15 s.

Failures (the exit code is 1 when there is any): an ask answered with a 5xx other than 503, or any
other unexpected status, a timeout or a connection error; a ``/healthz`` that fails or times out; a
change not answerable within ``--answerable-timeout`` seconds of its indexing process's exit; an
indexing process that fails; a server that dies or does not exit within 15 s of SIGTERM. Shed load
(503 or 429 with their Retry-After) is counted apart and is not a failure. Exit code 2: the set-up
failed (the base corpus could not be indexed, the server did not start).

All clients ask from 127.0.0.1, so the server's per-address rate limit would shed almost every ask:
the server runs with ``NEWSDESK_RATE_LIMIT=1000000/minute`` unless ``--env`` sets it.

Usage:
    .venv/bin/python bench/live.py [--clients 5] [--rounds 3] [--new-files 500] [--later-files 100]
        [--changed 20] [--refresh-seconds 2] [--json [FILE]] [--env NEWSDESK_CONCURRENCY=2 ...] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVAL_ROOT = Path(os.environ.get("NEWSDESK_EVAL_DIR", REPO.parent / "shared" / "eval"))
DEFAULT_ARTICLES = EVAL_ROOT / "multihop-news" / "articles.jsonl"
SIGTERM_LIMIT = 15.0
SHED = frozenset({"429", "503"})

# --------------------------------------------------------------------------------------------------
# The changing corpus: made-up towns whose harbour board names a new harbour master every round


_ONSETS = "b br c ch d dr f g gr h k kr l m n p pr qu r s st t tr v w z".split()
_VOWELS = "a e i o u ae ei ou".split()
_CODAS = "n r l s th nd rk m x lt".split()
_FILLER_WORDS = """
    council market river bridge school library festival harvest railway station museum garden
    report budget season weather storm road tunnel ferry orchard factory hospital theatre stadium
    parade concert exhibition election survey inquiry committee workshop bakery brewery quarry
    mill canal harbour airport clinic college archive lighthouse vineyard dairy forest meadow
    """.split()
_FILLER_VERBS = "opened closed delayed approved rejected reviewed expanded repaired visited praised".split()
_FILLER_PEOPLE = (
    "residents officials engineers teachers farmers traders visitors volunteers inspectors".split()
)
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def made_up_word(rng: random.Random, syllables: int) -> str:
    """A pronounceable word that is in no dictionary (and so in no other article)."""
    parts = []
    for _ in range(syllables):
        coda = rng.choice(_CODAS) if rng.random() < 0.6 else ""
        parts.append(rng.choice(_ONSETS) + rng.choice(_VOWELS) + coda)
    return "".join(parts).capitalize()


def change_text(town: str, master: str) -> str:
    """One changing article: its question's answer is ``master``."""
    return (
        f"{town} harbour board names a new harbour master\n\n"
        f"The harbour board of {town} met on Tuesday evening to settle a long dispute over mooring fees. "
        f"After a vote of its members, the board named {master} as the new harbour master of {town}. "
        f"Fishermen in {town} said the decision ended months of uncertainty on the quays.\n"
    )


def change_question(town: str) -> str:
    return f"Who did the harbour board of {town} name as the new harbour master?"


class LiveCorpus:
    """Files under ``root``: ``changing/<town>.txt`` rewritten every round, ``new-<round>/`` folders.

    Every name is drawn from a seeded generator and never used twice, so the name in an answer says
    which version of an article it was quoted from.
    """

    def __init__(self, root: Path, changed: int, seed: int = 7) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.changing = root / "changing"
        self.changing.mkdir(parents=True, exist_ok=True)
        self.towns = [self._unique(3) for _ in range(changed)]
        self.masters: dict[str, list[str]] = {town: [] for town in self.towns}  # every version's name

    def _unique(self, syllables: int) -> str:
        while True:
            word = made_up_word(self.rng, syllables)
            if word.lower() not in self.used and len(word) >= 6:
                self.used.add(word.lower())
                return word

    def path_of(self, town: str) -> Path:
        return self.changing / f"{town.lower()}.txt"

    def rewrite(self, towns: Sequence[str] | None = None) -> dict[str, str]:
        """A new version of each of ``towns`` (default: all): town -> the new harbour master."""
        facts: dict[str, str] = {}
        for town in self.towns if towns is None else towns:
            master = f"{self._unique(2)} {self._unique(3)}"
            self.masters[town].append(master)
            self.path_of(town).write_text(change_text(town, master), encoding="utf-8")
            facts[town] = master
        return facts

    def new_files(self, label: str, count: int) -> Path:
        """A folder of ``count`` new small .txt articles, different enough never to be near-duplicates."""
        folder = self.root / f"new-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        rng = self.rng
        for number in range(count):
            place = made_up_word(rng, 3)
            title = f"{place} {rng.choice(_FILLER_WORDS)} {rng.choice(_FILLER_VERBS)}"
            sentences = []
            for _ in range(rng.randint(3, 6)):
                sentences.append(
                    f"The {rng.choice(_FILLER_WORDS)} of {made_up_word(rng, 2)} was "
                    f"{rng.choice(_FILLER_VERBS)} on {rng.choice(_DAYS)} after {rng.randint(2, 9999)} "
                    f"{rng.choice(_FILLER_PEOPLE)} asked about the {rng.choice(_FILLER_WORDS)} near "
                    f"{made_up_word(rng, 2)}."
                )
            text = f"{title}\n\n{' '.join(sentences)}\n"
            (folder / f"{label}-{number:05d}.txt").write_text(text, encoding="utf-8")
        return folder


def base_questions(articles: Path, limit: int = 500) -> list[str]:
    """Questions about the base corpus: its ``questions.jsonl`` beside it, or one per article title."""
    questions_file = articles.parent / "questions.jsonl"
    questions: list[str] = []
    if questions_file.is_file():
        with questions_file.open(encoding="utf-8") as lines:
            questions = [json.loads(line)["question"] for line in lines if line.strip()]
    if not questions:
        with articles.open(encoding="utf-8") as lines:
            for line in lines:
                title = json.loads(line).get("title") if line.strip() else None
                if title:
                    questions.append(f"What was reported about {title}?")
    return questions[:limit] or ["What happened this week?"]


# --------------------------------------------------------------------------------------------------
# Processes: the server, indexing runs, /proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> tuple[int, int]:
    """(VmRSS in KiB, thread count) of a process; (0, 0) once it is gone."""
    rss = threads = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, threads


def newsdesk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsdesk.cli", *args]


def child_environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "NEWSDESK_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return {**env, **(extra or {})}


@dataclass
class IndexRun:
    returncode: int
    started: float
    finished: float
    summary: str

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def run_index(db: Path, paths: Sequence[Path], home: Path, log: Path, timeout: float = 600) -> IndexRun:
    """One ``newsdesk index PATHS --db DB --quiet`` process; its output appended to ``log``."""
    command = newsdesk_command("index", *map(str, paths), "--db", str(db), "--quiet", "--wait", "120")
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=out, env=child_environment(home))
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, _ = process.communicate()
        out.write(stdout)
    finished = time.monotonic()
    lines = stdout.decode(errors="replace").strip().splitlines()
    return IndexRun(process.returncode, started, finished, lines[-1] if lines else "")


class Server:
    """A ``newsdesk serve`` process on a free port, stdout and stderr in ``log``."""

    def __init__(self, db: Path, home: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = log.open("ab")
        command = newsdesk_command("serve", "--db", str(db), "--port", str(self.port))
        self.process = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT, env=child_environment(home, env)
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"newsdesk serve exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"newsdesk serve did not answer /healthz within {timeout:.0f} s; see {self.log}")

    def status(self) -> tuple[int, int]:
        return proc_status(self.pid)

    def terminate(self, limit: float = SIGTERM_LIMIT) -> float | None:
        """SIGTERM; seconds until the process exited, or None when it did not within ``limit`` (killed)."""
        if self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=limit)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log_file.close()


# --------------------------------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class Reply:
    """One HTTP exchange: ``outcome`` is the status as text, or "timeout" / "connection"."""

    outcome: str
    started: float
    seconds: float
    body: dict[str, Any] | None = None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "200"

    @property
    def shed(self) -> bool:
        return self.outcome in SHED

    @property
    def failed(self) -> bool:
        return not (self.ok or self.shed)

    @property
    def answer(self) -> str:
        return str((self.body or {}).get("answer", ""))


def request(
    url: str,
    data: dict[str, Any] | None = None,
    timeout: float = 30,
    login: str | None = None,
    form: dict[str, str] | None = None,
    source_address: str | None = None,
) -> Reply:
    """GET (or POST ``data`` as JSON, or ``form`` url-encoded) ``url``; never raises for HTTP trouble.

    ``source_address`` makes the request from another loopback address (127.0.0.2 ...), to act as
    another client for per-address limits.
    """
    import http.client
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    headers: dict[str, str] = {}
    body: bytes | None = None
    if data is not None:
        body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if login:
        headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode()
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    started = time.monotonic()
    connection = http.client.HTTPConnection(
        parsed.hostname or "127.0.0.1",
        parsed.port,
        timeout=timeout,
        source_address=(source_address, 0) if source_address else None,
    )
    try:
        connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        seconds = time.monotonic() - started
        try:
            parsed_body = json.loads(raw) if raw else None
        except ValueError:
            parsed_body = None
        return Reply(
            str(response.status),
            started,
            seconds,
            parsed_body if isinstance(parsed_body, dict) else None,
            response.getheader("Retry-After"),
        )
    except TimeoutError:
        return Reply("timeout", started, time.monotonic() - started)
    except (OSError, http.client.HTTPException):
        return Reply("connection", started, time.monotonic() - started)
    finally:
        connection.close()


def _seconds(retry_after: str | None) -> float:
    try:
        return max(0.0, float(retry_after or 0))
    except ValueError:
        return 1.0


def ask(url: str, question: str, timeout: float = 30, login: str | None = None) -> Reply:
    return request(f"{url}/api/ask", {"question": question}, timeout=timeout, login=login)


# --------------------------------------------------------------------------------------------------
# The load and what it saw


@dataclass(frozen=True)
class Sample:
    finished: float
    reply: Reply
    kind: str  # "base" or "change"


class Changes:
    """The current round's changes, and when an answer first quoted each new fact."""

    def __init__(self, corpus: LiveCorpus) -> None:
        self.corpus = corpus
        self.lock = threading.Lock()
        self.facts: dict[str, str] = {}
        self.seen: dict[str, float] = {}  # town -> when an answer first quoted its current fact
        self.stale_after_seen = 0  # answers quoting an older fact, asked after the new one was seen

    def start_round(self, facts: dict[str, str]) -> None:
        with self.lock:
            self.facts = dict(facts)
            self.seen = {}

    def pending(self) -> list[str]:
        with self.lock:
            return [town for town in self.facts if town not in self.seen]

    def record(self, town: str, reply: Reply) -> None:
        if not reply.ok:
            return
        with self.lock:
            fact = self.facts.get(town)
            if fact is None:
                return
            if fact in reply.answer:
                self.seen.setdefault(town, reply.started + reply.seconds)
            elif town in self.seen and reply.started > self.seen[town]:
                older = self.corpus.masters[town][:-1]
                if any(name in reply.answer for name in older):
                    self.stale_after_seen += 1


class Load:
    """``clients`` threads asking in a loop until stopped; every reply kept as a ``Sample``."""

    def __init__(
        self,
        url: str,
        clients: int,
        base: Sequence[str],
        changes: Changes,
        change_share: float = 0.5,
        timeout: float = 30,
        seed: int = 11,
    ) -> None:
        self.url = url
        self.base = list(base)
        self.changes = changes
        self.change_share = change_share
        self.timeout = timeout
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(seed + n,), name=f"client-{n}", daemon=True)
            for n in range(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def ask_change(self, town: str) -> Reply:
        reply = ask(self.url, change_question(town), timeout=self.timeout)
        self.changes.record(town, reply)
        self._keep(reply, "change")
        return reply

    def _keep(self, reply: Reply, kind: str) -> None:
        with self.lock:
            self.samples.append(Sample(time.monotonic(), reply, kind))

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            if rng.random() < self.change_share and self.changes.corpus.towns:
                pending = self.changes.pending()
                reply = self.ask_change(rng.choice(pending or self.changes.corpus.towns))
            else:
                reply = ask(self.url, rng.choice(self.base), timeout=self.timeout)
                self._keep(reply, "base")
            if reply.shed:  # a polite client waits as told, up to a second
                self.stop.wait(min(1.0, _seconds(reply.retry_after)))
            elif reply.failed:  # a refused connection comes back at once: do not spin
                self.stop.wait(0.1)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)

    def between(self, start: float, end: float) -> list[Sample]:
        with self.lock:
            return [s for s in self.samples if start <= s.finished < end]


@dataclass
class Health:
    """What the monitor saw of the server: memory, threads, /healthz."""

    peak_rss_kib: int = 0
    errors: int = 0
    last: dict[str, Any] = field(default_factory=dict)
    slowest: float = 0.0


class Monitor:
    """Samples the server's RSS and threads every half second and polls ``/healthz`` every second."""

    def __init__(self, server: Server, timeout: float = 10) -> None:
        self.server = server
        self.timeout = timeout
        self.health = Health()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def take(self) -> Health:
        """What was seen since the last ``take`` (peak RSS, errors, slowest), and the last /healthz."""
        with self.lock:
            seen, self.health = self.health, Health(last=dict(self.health.last))
        return seen

    def _run(self) -> None:
        tick = 0
        while not self.stop.wait(0.5):
            tick += 1
            rss, _ = self.server.status()
            with self.lock:
                self.health.peak_rss_kib = max(self.health.peak_rss_kib, rss)
            if tick % 2:
                continue
            reply = request(f"{self.server.url}/healthz", timeout=self.timeout)
            with self.lock:
                self.health.slowest = max(self.health.slowest, reply.seconds)
                if reply.ok and reply.body is not None:
                    self.health.last = reply.body
                elif self.server.process.poll() is None:
                    self.health.errors += 1

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=self.timeout + 5)


# --------------------------------------------------------------------------------------------------
# Rounds and the report


@dataclass
class RoundReport:
    round: str
    new_files: int = 0
    changed: int = 0
    index_seconds: float | None = None
    index_ok: bool = True
    index_summary: str = ""
    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    failures_by_question: dict[str, int] = field(default_factory=dict)  # "base" / "change" questions
    shed: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    answerable: int = 0
    visible_after_s: list[float] = field(default_factory=list)  # per answerable change, from index exit
    stale_after_seen: int = 0
    rss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    threads: int = 0
    healthz_errors: int = 0
    healthz_slowest_s: float = 0.0
    generation: Any = None
    chunks: Any = None
    peak_asking: Any = None

    @property
    def unanswerable(self) -> int:
        return self.changed - self.answerable

    @property
    def failed(self) -> int:
        return self.failures + self.unanswerable + self.healthz_errors + (0 if self.index_ok else 1)


def summarise(report: RoundReport, samples: Sequence[Sample], health: Health, server: Server) -> None:
    outcomes = Counter(s.reply.outcome for s in samples)
    latencies = sorted(s.reply.seconds * 1000 for s in samples if s.reply.ok)
    report.requests = len(samples)
    report.outcomes = dict(sorted(outcomes.items()))
    report.failures = sum(n for outcome, n in outcomes.items() if outcome != "200" and outcome not in SHED)
    report.shed = sum(n for outcome, n in outcomes.items() if outcome in SHED)
    report.failures_by_question = dict(Counter(s.kind for s in samples if s.reply.failed))
    if latencies:
        report.p50_ms = statistics.median(latencies)
        report.p95_ms = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        report.max_ms = latencies[-1]
    rss, threads = server.status()
    report.rss_mib = rss / 1024
    report.peak_rss_mib = max(health.peak_rss_kib, rss) / 1024
    report.threads = threads
    report.healthz_errors = health.errors
    report.healthz_slowest_s = health.slowest
    report.generation = health.last.get("generation")
    report.chunks = health.last.get("chunks")
    report.peak_asking = health.last.get("peak_asking")


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(reports: Sequence[RoundReport]) -> str:
    header = (
        f"{'round':>6} {'files':>5} {'chg':>4} {'index s':>7} {'asks':>6} {'fail':>5} {'shed':>5} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'answerable':>10} {'after s (max)':>13} {'RSS MB':>7} "
        f"{'peak MB':>7} {'thr':>4} {'hz err':>6} {'gen':>4}  failures by kind"
    )
    lines = [header, "-" * len(header)]
    for r in reports:
        kinds = ", ".join(f"{k}: {n}" for k, n in r.outcomes.items() if k != "200" and k not in SHED)
        if r.failures:
            kinds += " (" + ", ".join(f"{k} questions {n}" for k, n in r.failures_by_question.items()) + ")"
        if not r.index_ok:
            kinds = ", ".join(filter(None, [kinds, "indexing failed"]))
        if r.stale_after_seen:
            kinds = ", ".join(filter(None, [kinds, f"stale after seen: {r.stale_after_seen}"]))
        after = (
            f"{statistics.median(r.visible_after_s):.1f} ({max(r.visible_after_s):.1f})"
            if r.visible_after_s
            else "-"
        )
        answerable = f"{r.answerable}/{r.changed}" if r.changed else "-"
        lines.append(
            f"{r.round:>6} {r.new_files:>5} {r.changed:>4} {fmt(r.index_seconds, 1):>7} {r.requests:>6} "
            f"{r.failures:>5} {r.shed:>5} {fmt(r.p50_ms):>7} {fmt(r.p95_ms):>7} {answerable:>10} "
            f"{after:>13} {r.rss_mib:>7.0f} {r.peak_rss_mib:>7.0f} {r.threads:>4} {r.healthz_errors:>6} "
            f"{r.generation if r.generation is not None else '-':>4}  {kinds}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="newsdesk-live-"))
    db, home, logs = work / "index", work / "home", work / "logs"
    logs.mkdir(parents=True)
    corpus = LiveCorpus(work / "articles", args.changed, seed=args.seed)
    base = base_questions(args.articles)
    env = {"NEWSDESK_REFRESH_SECONDS": f"{args.refresh_seconds:g}", "NEWSDESK_RATE_LIMIT": "1000000/minute"}
    env.update(dict(item.split("=", 1) for item in args.env))
    index_log = logs / "index.log"
    server: Server | None = None
    load: Load | None = None
    monitor: Monitor | None = None
    reports: list[RoundReport] = []
    result: dict[str, Any] = {"work": str(work), "server_log": str(logs / "server.log")}
    problems: list[str] = []
    try:
        corpus.rewrite()
        started = time.monotonic()
        setup = run_index(db, [args.articles, corpus.changing], home, index_log)
        if setup.returncode != 0:
            print(
                f"live: indexing the base corpus failed ({setup.returncode}); see {index_log}",
                file=sys.stderr,
            )
            return 2
        print(f"live: base corpus indexed in {setup.seconds:.1f} s: {setup.summary}", file=sys.stderr)
        server = Server(db, home, logs / "server.log", env)
        try:
            server.wait_ready()
        except RuntimeError as error:
            print(f"live: {error}", file=sys.stderr)
            return 2
        print(
            f"live: server pid {server.pid} on {server.url} ready {time.monotonic() - started:.0f} s "
            f"after start; log {server.log}",
            file=sys.stderr,
        )
        changes = Changes(corpus)
        load = Load(server.url, args.clients, base, changes, args.change_share, args.timeout)
        monitor = Monitor(server)
        monitor.start()
        load.start()
        mark = time.monotonic()
        time.sleep(args.warmup)
        warm = RoundReport("warm")
        summarise(warm, load.between(mark, time.monotonic()), monitor.take(), server)
        reports.append(warm)
        print(table(reports[-1:]).splitlines()[-1], file=sys.stderr)
        for number in range(1, args.rounds + 1):
            begin = time.monotonic()
            files = args.new_files if number == 1 else args.later_files
            report = RoundReport(str(number), new_files=files, changed=len(corpus.towns))
            folder = corpus.new_files(f"r{number}", files)
            facts = corpus.rewrite()
            changes.start_round(facts)
            indexed = run_index(db, [folder, corpus.changing], home, index_log)
            report.index_seconds, report.index_ok = indexed.seconds, indexed.returncode == 0
            report.index_summary = indexed.summary
            deadline = indexed.finished + args.answerable_timeout
            while changes.pending() and time.monotonic() < deadline and server.process.poll() is None:
                for town in changes.pending():  # the main thread probes too, so a change is seen soon
                    load.ask_change(town)
                    if time.monotonic() >= deadline:
                        break
                time.sleep(0.5)
            with changes.lock:
                report.visible_after_s = sorted(t - indexed.finished for t in changes.seen.values())
                report.stale_after_seen, changes.stale_after_seen = changes.stale_after_seen, 0
            report.answerable = len(report.visible_after_s)
            summarise(report, load.between(begin, time.monotonic()), monitor.take(), server)
            reports.append(report)
            print(table(reports[-1:]).splitlines()[-1], file=sys.stderr)
            if server.process.poll() is not None:
                problems.append(f"the server exited with {server.process.returncode} during round {number}")
                break
        load.finish()
        monitor.finish()
        exit_seconds = server.terminate()
        result["sigterm_exit_s"] = exit_seconds
        if exit_seconds is None:
            problems.append(f"the server did not exit within {SIGTERM_LIMIT:.0f} s of SIGTERM (killed)")
    finally:
        if load is not None:
            load.stop.set()
        if monitor is not None:
            monitor.stop.set()
        if server is not None:
            server.kill()
    total = sum(r.failed for r in reports) + len(problems)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(table(reports), file=out)
    if "sigterm_exit_s" in result:
        exit_s = result["sigterm_exit_s"]
        print(
            f"SIGTERM: {'did not exit (killed)' if exit_s is None else f'exited in {exit_s:.1f} s'}", file=out
        )
    for problem in problems:
        print(f"problem: {problem}", file=out)
    result.update(
        {
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "server_env": env,
            "rounds": [{**vars(r), "failed": r.failed, "unanswerable": r.unanswerable} for r in reports],
            "problems": problems,
            "failures": total,
        }
    )
    if args.json == "-":
        print(json.dumps(result, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if total:
        print(
            f"FAILED: {total} failure(s); server log {logs / 'server.log'}, indexing log {index_log}",
            file=out,
        )
        print(f"work folder kept: {work}", file=out)
        return 1
    print("OK: no failed request, every change answerable", file=out)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder kept: {work}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES, help="base corpus (.jsonl)")
    parser.add_argument("--clients", type=int, default=5, help="threads asking in a loop (default: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="indexing rounds (default: 3)")
    parser.add_argument("--new-files", type=int, default=500, help="new .txt files in round 1 (default: 500)")
    parser.add_argument(
        "--later-files", type=int, default=100, help="new .txt files in each later round (default: 100)"
    )
    parser.add_argument("--changed", type=int, default=20, help="articles rewritten per round (default: 20)")
    parser.add_argument(
        "--refresh-seconds",
        type=float,
        default=2.0,
        help="the server's NEWSDESK_REFRESH_SECONDS (default: 2)",
    )
    parser.add_argument(
        "--answerable-timeout",
        type=float,
        default=None,
        help="seconds after an indexing run by which every change must be answerable "
        "(default: 3 x refresh seconds + 20)",
    )
    parser.add_argument(
        "--change-share", type=float, default=0.5, help="share of asks about changed articles (default: 0.5)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of asking before round 1")
    parser.add_argument("--seed", type=int, default=7, help="seed of the made-up names (default: 7)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra server environment, e.g. NEWSDESK_CONCURRENCY=2 (repeatable)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="also write the results as JSON to FILE; --json alone prints them on stdout (the table then "
        "goes to stderr)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (index, logs) on success")
    args = parser.parse_args(argv)
    if args.answerable_timeout is None:
        args.answerable_timeout = 3 * args.refresh_seconds + 20
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    if not args.articles.is_file():
        parser.error(
            f"no base corpus at {args.articles}: pass --articles FILE.jsonl (or set NEWSDESK_EVAL_DIR)"
        )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
