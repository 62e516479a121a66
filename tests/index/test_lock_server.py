"""One writer per collection on a Chroma server, across machines: a real `chroma run`, real processes.

Two "machines" are two processes with different ``NEWSDESK_HOME`` folders, so their lock files do not
see each other: only the server's writer lease stands between them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT, Settings
from newsdesk.errors import IndexUnavailable, ServerBusy
from newsdesk.index.lock import LEASE_ID, ServerLease, server_lease
from newsdesk.index.store import ChunkStore
from newsdesk.wiring import Newsdesk
from tests.conftest import SEEDS

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from newsdesk.index.lock import server_lease
    from newsdesk.index.store import ChunkStore
    folder, collection, url, seconds, ttl = sys.argv[1:6]
    store = ChunkStore(Path(folder), collection, url=url)
    with server_lease(store.lease_collection(), store.where, ttl=float(ttl)):
        print("leased", flush=True)
        time.sleep(float(seconds))
    """
)


def hold_lease(
    tmp_path: Path, collection: str, url: str, seconds: float, ttl: float = 60
) -> subprocess.Popen[str]:
    """Another machine's indexing job: a process holding the server lease for ``seconds``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "other"), collection, url, str(seconds), str(ttl)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "leased"
    return process


def machine(tmp_path: Path, name: str, collection: str, url: str, **overrides: object) -> Newsdesk:
    settings = Settings(home=tmp_path / name, chroma_url=url, collection=collection, **overrides)  # type: ignore[arg-type]
    return Newsdesk(settings)


@pytest.fixture
def collection() -> str:
    return f"lease-{uuid.uuid4().hex[:10]}"


def test_a_job_on_another_machine_stops_at_once_naming_the_holder(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    other = hold_lease(tmp_path, collection, chroma_url, 60)
    try:
        env = {
            **os.environ,
            "NEWSDESK_HOME": str(tmp_path / "this-machine"),
            "NEWSDESK_CHROMA_URL": chroma_url,
            "NEWSDESK_COLLECTION": collection,
        }
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "newsdesk.cli", "index", str(SEEDS)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            timeout=120,
        )
        assert run.returncode == 2, run.stderr
        assert f"pid {other.pid}" in run.stderr and "is writing to" in run.stderr
        assert "--wait SECONDS" in run.stderr
        assert time.monotonic() - started < 60  # it did not wait
        store = ChunkStore(tmp_path / "x", collection, url=chroma_url)
        assert store.count() == 0  # and wrote nothing
    finally:
        other.kill()
        other.wait()


def test_a_job_told_to_wait_goes_on_when_the_other_finishes(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    other = hold_lease(tmp_path, collection, chroma_url, 2)
    desk = machine(tmp_path, "this-machine", collection, chroma_url, index_wait=60)
    waited_for: list[int | None] = []
    desk.indexer.on_lock_wait = waited_for.append
    report = desk.indexer.index_paths([SEEDS])
    assert waited_for == [other.pid]
    assert report.added and desk.store.count() > 0
    other.wait(timeout=30)
    assert ServerLease(desk.store.lease_collection(), "x").current() is None  # released after the run


def test_a_lease_whose_holder_was_killed_lapses_after_its_ttl(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    other = hold_lease(tmp_path, collection, chroma_url, 60, ttl=2)
    other.send_signal(signal.SIGKILL)
    other.wait()
    store = ChunkStore(tmp_path / "x", collection, url=chroma_url)
    lease = ServerLease(store.lease_collection(), store.where, ttl=2)
    record = lease.current()
    assert record is not None and record["pid"] == other.pid  # the dead job's lease is still there
    with pytest.raises(ServerBusy) as caught:
        lease.acquire(timeout=0)
    assert isinstance(caught.value, IndexUnavailable)  # the CLI prints it and exits 2
    time.sleep(2.5)
    with server_lease(store.lease_collection(), store.where, ttl=2) as mine:
        assert (mine.current() or {}).get("token") == mine.token


def test_a_live_writer_keeps_its_lease_past_the_ttl_by_heartbeats(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    store = ChunkStore(tmp_path / "x", collection, url=chroma_url)
    with server_lease(store.lease_collection(), store.where, ttl=1.0) as mine:
        time.sleep(2.5)  # more than twice the ttl
        other = ServerLease(store.lease_collection(), store.where, ttl=1.0)
        holder = other.try_acquire()
        assert holder is not None and holder["token"] == mine.token
        assert not mine.lost


def test_of_two_jobs_asking_at_once_exactly_one_gets_the_lease(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    store = ChunkStore(tmp_path / "x", collection, url=chroma_url)
    first = ServerLease(store.lease_collection(), store.where)
    second = ServerLease(store.lease_collection(), store.where)
    try:
        assert first.try_acquire() is None
        holder = second.try_acquire()
        assert holder is not None and holder["token"] == first.token
        assert store.lease_collection().get(ids=[LEASE_ID])["ids"] == [LEASE_ID]
    finally:
        first.release()
        second.release()
    assert second.try_acquire() is None  # free again once the first let go
    second.release()


def test_a_writer_whose_lease_was_taken_over_says_so_when_it_ends(
    tmp_path: Path, chroma_url: str, collection: str
) -> None:
    store = ChunkStore(tmp_path / "x", collection, url=chroma_url)
    with (
        pytest.warns(RuntimeWarning, match="lapsed during this run"),
        server_lease(store.lease_collection(), store.where, ttl=0.8) as mine,
    ):
        # Another job removes the lease as if it had lapsed, and takes it.
        store.lease_collection().delete(ids=[LEASE_ID], where={"token": mine.token})
        other = ServerLease(store.lease_collection(), store.where, ttl=60)
        assert other.try_acquire() is None
        time.sleep(0.6)  # the next heartbeat finds another token
        assert mine.lost
    other.release()
