"""Login flood: does a stream of wrong passwords slow down everyone else?

Runs a real ``newsdesk serve --auth-file`` (a fresh auth file, one user) on a free port on 127.0.0.1,
then:

1. ``idle``: ``GET /healthz`` ``--samples`` times, one after another: its latency with nothing else going on;
2. ``flood``: ``--threads`` threads send ``GET /gradio_api/info`` with wrong HTTP Basic passwords for
   ``--seconds`` seconds, while ``/healthz`` is asked every 0.1 s. With ``--addresses N`` the threads
   spread over N loopback addresses (127.0.0.2 ...) and as many user names, so that the per-address
   and per-user throttles let more guesses through to argon2 (the harder case).

It prints (and with ``--json`` writes) the ``/healthz`` p50/p95/max latency in both phases, their ratio,
how the flood's requests were answered (401, 429, 503, 5xx, errors), and the flood's requests/s.

``--repo`` runs the Newsdesk of another checkout (e.g. an export of the previous commit:
``git archive BASE | tar -x -C /tmp/base``) with this interpreter, for a before/after comparison.

Usage:
    .venv/bin/python bench/login_flood.py [--threads 16] [--seconds 10] [--addresses 1]
        [--db DIR] [--repo DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
USER, PASSWORD = "ann", "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_auth_file(path: Path, repo: Path = REPO) -> None:
    """One user, written by ``newsdesk passwd`` (its argon2 hash) of the checkout under test."""
    done = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "passwd", str(path), USER],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=environment(repo, path.parent / "home"),
        cwd=repo,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"newsdesk passwd failed: {done.stderr}")


def environment(repo: Path, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "NEWSDESK_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    return {**env, **(extra or {})}


class Served:
    """A ``newsdesk serve --auth-file`` process; its output in ``log``."""

    def __init__(
        self, db: Path, auth_file: Path, log: Path, repo: Path = REPO, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = log.open("ab")
        command = [sys.executable, "-m", "newsdesk.cli", "serve", "--db", str(db), "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--auth-file", str(auth_file)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=environment(repo, db.parent / "home", env),
            cwd=repo,
        )

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"newsdesk serve exited with {self.process.returncode}; see {self.log}")
            if get(self.url, "/healthz", timeout=5).status == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"newsdesk serve did not answer /healthz in {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log_file.close()


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no HTTP answer (timeout, connection error)
    seconds: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def get(
    url: str, path: str, login: str | None = None, source: str | None = None, timeout: float = 30
) -> Reply:
    """One GET; never raises for HTTP or connection trouble."""
    host_port = url.split("//", 1)[1]
    host, port = host_port.rsplit(":", 1)
    headers = {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
    started = time.monotonic()
    connection = http.client.HTTPConnection(
        host, int(port), timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return Reply(
            response.status,
            time.monotonic() - started,
            body,
            {k.lower(): v for k, v in response.getheaders()},
        )
    except (OSError, http.client.HTTPException):
        return Reply(0, time.monotonic() - started)
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def latency(replies: list[Reply]) -> dict[str, Any]:
    seconds = [r.seconds for r in replies]
    return {
        "samples": len(replies),
        "failed": sum(1 for r in replies if r.status != 200),
        "p50": statistics.median(seconds) if seconds else float("nan"),
        "p95": percentile(seconds, 0.95),
        "max": max(seconds, default=float("nan")),
    }


def flood(url: str, threads: int, seconds: float, addresses: int = 1) -> dict[str, Any]:
    """``threads`` threads sending wrong passwords to ``/gradio_api/info`` for ``seconds`` seconds while
    ``/healthz`` is sampled every 0.1 s: the health latencies and the flood's outcomes."""
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def guess(number: int) -> None:
        slot = number % max(1, addresses)
        source = f"127.0.0.{2 + slot}" if addresses > 1 else None
        user = USER if addresses <= 1 else f"{USER}{slot}"
        attempt = 0
        while not stop.is_set():
            attempt += 1
            reply = get(url, "/gradio_api/info", f"{user}:wrong-{number}-{attempt}", source, timeout=30)
            with lock:
                outcomes[str(reply.status) if reply.status else "error"] += 1

    health: list[Reply] = []
    workers = [threading.Thread(target=guess, args=(n,), daemon=True) for n in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    while time.monotonic() - started < seconds:
        health.append(get(url, "/healthz", timeout=30))
        time.sleep(0.1)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    took = time.monotonic() - started
    total = sum(outcomes.values())
    return {
        "healthz": latency(health),
        "flood": dict(outcomes),
        "flood_per_second": total / took if took else 0.0,
        "server_errors": sum(n for k, n in outcomes.items() if k.startswith("5") and k != "503"),
    }


def idle(url: str, samples: int) -> dict[str, Any]:
    replies = []
    for _ in range(samples):
        replies.append(get(url, "/healthz"))
        time.sleep(0.05)
    return latency(replies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--addresses", type=int, default=1, help="loopback addresses the threads use")
    parser.add_argument("--samples", type=int, default=40, help="idle /healthz samples")
    parser.add_argument("--db", type=Path, help="an index to serve (default: a fresh one, seeds indexed)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the Newsdesk checkout to run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="newsdesk-login-flood-"))
    try:
        db = scratch / "index"
        if args.db is not None:
            shutil.copytree(args.db, db)
        auth = scratch / "users.txt"
        make_auth_file(auth, args.repo)
        server = Served(db, auth, scratch / "server.log", args.repo)
        try:
            server.wait_ready()
            right = get(server.url, "/gradio_api/info", f"{USER}:{PASSWORD}")
            quiet = idle(server.url, args.samples)
            loud = flood(server.url, args.threads, args.seconds, args.addresses)
            alive = server.process.poll() is None
        finally:
            server.stop()
        results = {
            "repo": str(args.repo),
            "threads": args.threads,
            "seconds": args.seconds,
            "addresses": args.addresses,
            "right_password_status": right.status,
            "idle": quiet,
            "under_flood": loud,
            "p50_ratio": loud["healthz"]["p50"] / quiet["p50"] if quiet["p50"] else float("nan"),
            "server_alive": alive,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"{args.repo}: /healthz p50 idle {quiet['p50'] * 1000:.1f} ms, under {args.threads} threads of wrong "
        f"passwords from {args.addresses} address(es) {loud['healthz']['p50'] * 1000:.1f} ms "
        f"(p95 {loud['healthz']['p95'] * 1000:.1f} ms, max {loud['healthz']['max'] * 1000:.1f} ms, "
        f"x{results['p50_ratio']:.1f}); flood answered {loud['flood']} "
        f"({loud['flood_per_second']:.0f}/s); right password: {right.status}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if alive and not loud["server_errors"] and not loud["healthz"]["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
