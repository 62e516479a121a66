"""Load: many clients at once through the chat's Gradio route and the OpenAI-compatible route.

A real ``newsdesk serve`` (seeds in a fresh temp index, on a free port of 127.0.0.1) gets ``--clients``
concurrent clients for ``--duration`` seconds per route, each asking in a loop from a mix of questions:

- ``api``: ``POST /api/ask`` (plain HTTP): the baseline;
- ``gradio``: the chat's ``/chat`` route through ``gradio_client`` (one client and session each);
- ``openai``: ``POST /v1/chat/completions`` through the official ``openai`` client (``max_retries=0``).

Every request must be answered or told to retry: HTTP 429/503 with Retry-After, the chat's "busy,
try again" answer, or Gradio's "queue is full" refusal. Anything else (another status, a timeout, a
connection error, an empty answer) is a failure, and the exit code is then 1. No new request starts
after ``--duration``; those in flight must end within ``--timeout`` seconds.

Reported per route: requests, answered, told to retry, failures, p50/p95 latency of answered requests,
answered requests per second, and each beside the ``api`` baseline. With ``--sequential N``, first the
server's CPU time per question (from /proc, Linux) over N questions asked one after another by one
client per route, with no queue: what each route itself costs, which a busy machine disturbs less than
latency; ``--duration 0`` then skips the load.

All clients ask from 127.0.0.1, so the per-address rate limit would turn nearly all of them away: the
server runs with ``NEWSDESK_RATE_LIMIT=1000000/minute`` (the concurrency gate and queue stay as set).

Usage:
    .venv/bin/python bench/chat_load.py [--clients 50] [--duration 30] [--routes api gradio openai]
        [--sequential N] [--json FILE] [--env NEWSDESK_CONCURRENCY=8 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Who is visiting Beijing for security talks?",
    "Where will Russia's Su-57 fighter be shown?",
    "What did Maria Zakharova say about the partnership?",
    "Who will Shoigu meet in Beijing?",
]
RETRY_WORDS = ("try again", "queue is full", "too many")


@dataclass
class Tally:
    """Outcomes of one route's requests."""

    latencies: list[float] = field(default_factory=list)
    retry: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, seconds: float, detail: str = "") -> None:
        with self.lock:
            if outcome == "answered":
                self.latencies.append(seconds)
            elif outcome == "retry":
                self.retry += 1
            else:
                self.failures.append(detail[:200])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask_api(url: str) -> Callable[[str], tuple[str, str]]:
    def ask(question: str) -> tuple[str, str]:
        request = urllib.request.Request(
            f"{url}/api/ask",
            data=json.dumps({"question": question}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            has_retry = error.headers.get("Retry-After") is not None
            return (
                ("retry", "") if error.code in (429, 503) and has_retry else ("failure", f"HTTP {error.code}")
            )
        return ("answered", "") if answer.get("answer") else ("failure", "empty answer")

    return ask


def ask_gradio(url: str) -> Callable[[str], tuple[str, str]]:
    from gradio_client import Client

    # The URL is plain http on loopback: no TLS. With ssl_verify left on, gradio_client builds a new TLS
    # context from the CA bundle for every request it sends (about 100 ms of CPU per question, measured),
    # and 50 such clients on the server's own cores starve the server this bench measures.
    client = Client(url, verbose=False, ssl_verify=False)

    def ask(question: str) -> tuple[str, str]:
        try:
            history, _ = client.predict(question, [], api_name="/chat")
        except Exception as error:  # gradio_client raises its own errors, version by version
            text = str(error).lower()
            return ("retry", "") if any(w in text for w in RETRY_WORDS) else ("failure", repr(error))
        content = history[-1]["content"]
        text = content if isinstance(content, str) else " ".join(str(p.get("text", "")) for p in content)
        if any(w in text.lower() for w in ("as many questions as it can", *RETRY_WORDS)):
            return "retry", ""
        return ("answered", "") if text.strip() else ("failure", "empty answer")

    return ask


def ask_openai(url: str) -> Callable[[str], tuple[str, str]]:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120)

    def ask(question: str) -> tuple[str, str]:
        try:
            reply = client.chat.completions.create(
                model="newsdesk", messages=[{"role": "user", "content": question}]
            )
        except openai.APIStatusError as error:
            has_retry = error.response.headers.get("retry-after") is not None
            if error.status_code in (429, 503) and has_retry:
                return "retry", ""
            return "failure", f"HTTP {error.status_code}"
        except openai.APIError as error:
            return "failure", repr(error)
        return ("answered", "") if reply.choices[0].message.content else ("failure", "empty answer")

    return ask


ROUTES: dict[str, Callable[[str], Callable[[str], tuple[str, str]]]] = {
    "api": ask_api,
    "gradio": ask_gradio,
    "openai": ask_openai,
}


def run_route(url: str, route: str, clients: int, duration: float, timeout: float) -> tuple[Tally, float]:
    """``clients`` threads asking through ``route`` until ``duration`` has passed; the wall time."""
    tally = Tally()
    start_line = threading.Barrier(clients + 1)
    deadline = [0.0]

    asks: list[Callable[[str], tuple[str, str]]] = []
    for _ in range(clients):  # one at a time: set-up (a Gradio client reads the app's config) is not measured
        try:
            asks.append(ROUTES[route](url))
        except Exception as error:
            tally.add("failure", 0, f"client set-up: {error!r}")

    def client(number: int) -> None:
        start_line.wait()
        if number >= len(asks):
            return
        ask, turn = asks[number], number
        while time.monotonic() < deadline[0]:
            began = time.monotonic()
            try:
                outcome, detail = ask(QUESTIONS[turn % len(QUESTIONS)])
            except Exception as error:
                outcome, detail = "failure", repr(error)
            tally.add(outcome, time.monotonic() - began, detail)
            turn += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.monotonic()
    deadline[0] = began + duration
    for thread in threads:
        thread.join(timeout=max(0.0, deadline[0] + timeout - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        tally.add("failure", 0, f"{stuck} clients still waiting {timeout} s after the end")
    return tally, time.monotonic() - began


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_question(url: str, route: str, pid: int, questions: int) -> float:
    """The server's CPU milliseconds per question, one client asking ``questions`` in a row."""
    ask = ROUTES[route](url)
    ask(QUESTIONS[0])  # warm: the client's session, the route's first use
    before = cpu_seconds(pid)
    for n in range(questions):
        outcome, detail = ask(QUESTIONS[n % len(QUESTIONS)])
        if outcome != "answered":
            raise RuntimeError(f"{route}: {outcome} {detail}")
    return (cpu_seconds(pid) - before) / questions * 1000


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(route: str, tally: Tally, wall: float) -> dict[str, Any]:
    answered = len(tally.latencies)
    return {
        "route": route,
        "requests": answered + tally.retry + len(tally.failures),
        "answered": answered,
        "retry": tally.retry,
        "failures": len(tally.failures),
        "failure_examples": sorted(set(tally.failures))[:5],
        "p50_s": round(percentile(tally.latencies, 0.5), 3),
        "p95_s": round(percentile(tally.latencies, 0.95), 3),
        "mean_s": round(statistics.fmean(tally.latencies), 3) if tally.latencies else None,
        "answered_per_s": round(answered / wall, 2),
        "wall_s": round(wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per route")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait for the last requests")
    parser.add_argument("--routes", nargs="+", choices=list(ROUTES), default=list(ROUTES))
    parser.add_argument(
        "--sequential", type=int, default=0, help="first: server CPU per question over N asked in a row"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--env", nargs="*", default=[], help="NEWSDESK_*=VALUE for the server")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsdesk-load-"))
    port = free_port()
    env = {
        **os.environ,
        "NEWSDESK_RATE_LIMIT": "1000000/minute",
        **dict(item.split("=", 1) for item in args.env),
    }
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "newsdesk.cli", "serve", "--db", str(work / "index"), "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print(f"the server did not start; see {work / 'server.log'}", file=sys.stderr)
                    return 2
                time.sleep(0.5)
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            health = json.loads(response.read())
        cpu_ms = {
            route: round(cpu_per_question(url, route, server.pid, args.sequential), 1)
            for route in (args.routes if args.sequential else [])
        }
        if cpu_ms:
            print(json.dumps({"server_cpu_ms_per_question": cpu_ms}), flush=True)
        results = []
        for route in args.routes if args.duration > 0 else []:
            tally, wall = run_route(url, route, args.clients, args.duration, args.timeout)
            results.append(summary(route, tally, wall))
            print(json.dumps(results[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    if cpu_ms:
        print(f"\nServer CPU per question, {args.sequential} questions asked one after another:\n")
        print("| route | server CPU ms per question | vs api |\n|---|---|---|")
        for route, ms in cpu_ms.items():
            ratio = f"{ms / cpu_ms['api']:.2f}x" if cpu_ms.get("api") else "-"
            print(f"| {route} | {ms} | {ratio} |")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"clients": args.clients, "results": results, "cpu_ms": cpu_ms}, indent=2)
        )
    if not results:
        return 0
    base = next((r for r in results if r["route"] == "api"), None)
    print(
        f"\n{args.clients} clients, {args.duration:.0f} s per route, server concurrency "
        f"{health['concurrency']} (queue {env.get('NEWSDESK_QUEUE', 'default')})\n"
    )
    print(
        "| route | requests | answered | told to retry | failures | p50 s | p95 s | answered/s "
        "| p50 vs api | answered/s vs api |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio_p50 = f"{r['p50_s'] / base['p50_s']:.2f}x" if base and base["p50_s"] else "-"
        ratio_rate = (
            f"{r['answered_per_s'] / base['answered_per_s']:.2f}x" if base and base["answered_per_s"] else "-"
        )
        print(
            f"| {r['route']} | {r['requests']} | {r['answered']} | {r['retry']} | {r['failures']} | "
            f"{r['p50_s']} | {r['p95_s']} | {r['answered_per_s']} | {ratio_p50} | {ratio_rate} |"
        )
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
