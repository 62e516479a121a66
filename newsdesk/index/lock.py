"""One writer per index: a lock file in the index folder, held for a whole indexing run, and with a
Chroma server a lease on the server too (``ServerLease``), so jobs on other machines wait as well.

The lock is an OS file lock (``filelock``: ``flock`` on Unix), so it is released by the kernel when
its holder exits in any way, ``kill -9`` included: a crashed run never leaves a stale lock behind.
The holder's pid is written beside it so the next writer can say who it is waiting for.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from newsdesk.errors import IndexBusy, IndexUnavailable, ServerBusy

LOCK_FILE = "newsdesk-index.lock"
OWNER_FILE = "newsdesk-index.pid"
FEEDS_FILE = "feeds.sqlite"
"""What ``newsdesk watch`` found of each feed (``index/watch.py``), kept beside the index."""
# Files that mark a folder as a Newsdesk index (or one being made): Chroma's database, ours.
INDEX_MARKERS = ("chroma.sqlite3", LOCK_FILE, OWNER_FILE, "lexical.sqlite", FEEDS_FILE)


def is_index_file(name: str) -> bool:
    return name in INDEX_MARKERS or (name.startswith("dedup") and name.endswith(".sqlite"))


def check_index_folder(folder: Path) -> None:
    """Refuse a path that is a file, or a folder holding other things than a Newsdesk index.

    Without this check, ``--db ~/Documents`` would scatter a database among someone's files.
    """
    if folder.exists() and not folder.is_dir():
        raise IndexUnavailable(f"index path {folder} is a file, not a folder: pass another --db")
    if not folder.is_dir():
        return
    entries = [entry.name for entry in folder.iterdir()]
    if entries and not any(is_index_file(name) for name in entries):
        shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
        raise IndexUnavailable(
            f"{folder} is not a Newsdesk index (it holds other files: {shown}); "
            f"pass a new or empty folder with --db"
        )


def lock_owner(folder: Path) -> int | None:
    """The pid recorded by the current (or last) holder of the lock, if readable."""
    try:
        return int((folder / OWNER_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def index_lock(
    folder: Path, timeout: float = 0.0, on_wait: Callable[[int | None], None] | None = None
) -> Iterator[None]:
    """Hold the index's write lock for the duration of the ``with`` block.

    Args:
        folder: the index folder (created if missing).
        timeout: seconds to wait for another writer to finish; 0 stops at once. Default: 0.
        on_wait: called once with the other writer's pid before waiting.

    Raises:
        IndexBusy: another process holds the lock (after ``timeout`` seconds).
    """
    from filelock import FileLock, Timeout

    check_index_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_FILE), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if timeout <= 0:
            raise IndexBusy(folder, lock_owner(folder)) from None
        if on_wait is not None:
            on_wait(lock_owner(folder))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexBusy(folder, lock_owner(folder), waited=timeout) from None
    try:
        (folder / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
        yield
    finally:
        with contextlib.suppress(OSError):
            (folder / OWNER_FILE).unlink()
        lock.release()


# --------------------------------------------------------------------------- Chroma server: a lease

LEASE_ID = "writer"
LEASE_SECONDS = 60.0


class ServerLease:
    """One writer per collection on a Chroma server, whichever machine it runs on.

    A file lock only guards one machine. With a server, the writer holds a lease: one record in a
    small side collection (``<collection>-writer``) naming its host and pid, with a heartbeat that a
    background thread renews every ``ttl / 4`` seconds. Chroma ignores an ``add`` of an id that
    exists, so of two jobs adding the record at once exactly one finds its own token there. A lease
    whose heartbeat is older than ``ttl`` (its holder was killed, or its machine lost) is removed with
    a ``delete`` conditioned on the holder's token, so two waiters cannot remove each other's lease.
    Heartbeats are wall-clock seconds: machines' clocks must agree to well within ``ttl`` (NTP).

    Args:
        collection: the side collection (``ChunkStore.lease_collection()``).
        where: what is being written, for messages.
        ttl: seconds without a heartbeat after which a lease has lapsed. Default: 60.
    """

    def __init__(self, collection: Any, where: str, ttl: float = LEASE_SECONDS) -> None:
        self.collection = collection
        self.where = where
        self.ttl = ttl
        self.token = uuid.uuid4().hex
        self.holder = f"host {socket.gethostname()}, pid {os.getpid()}"
        self.lost = False
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None

    def _record(self) -> dict[str, Any]:
        return {"token": self.token, "holder": self.holder, "pid": os.getpid(), "beat": time.time()}

    def current(self) -> dict[str, Any] | None:
        """The lease record now on the server, if any."""
        got = self.collection.get(ids=[LEASE_ID], include=["metadatas"])
        metadatas = got.get("metadatas") or []
        return dict(metadatas[0]) if metadatas and metadatas[0] else None

    def try_acquire(self) -> dict[str, Any] | None:
        """Take the lease if it is free or lapsed; returns None when taken, else the holder's record."""
        for _ in range(3):
            self.collection.add(ids=[LEASE_ID], embeddings=[[0.0]], metadatas=[self._record()])
            record = self.current()
            if record is None:  # removed between our add and get: try again
                continue
            if record.get("token") == self.token:
                self._start_heartbeat()
                return None
            if time.time() - float(record.get("beat", 0.0)) <= self.ttl:
                return record
            self.collection.delete(ids=[LEASE_ID], where={"token": str(record.get("token"))})
        return self.current() or {}

    def acquire(self, timeout: float = 0.0, on_wait: Callable[[int | None], None] | None = None) -> None:
        """Take the lease, waiting up to ``timeout`` seconds for another writer; else ``ServerBusy``."""
        started = time.monotonic()
        told = False
        while True:
            record = self.try_acquire()
            if record is None:
                return
            waited = time.monotonic() - started
            if waited >= timeout:
                raise ServerBusy(
                    self.where,
                    str(record.get("holder", "unknown holder")),
                    _pid_of(record),
                    time.time() - float(record.get("beat", 0.0)),
                    lapse=self.ttl,
                    waited=timeout,
                )
            if not told and on_wait is not None:
                on_wait(_pid_of(record))
                told = True
            time.sleep(min(1.0, max(0.05, timeout - waited)))

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._beating = threading.Thread(target=self._beat, name="newsdesk-lease", daemon=True)
        self._beating.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                record = self.current()
                if record is None or record.get("token") != self.token:
                    self.lost = True  # lapsed and taken over: writes stay idempotent, but say so
                    return
                self.collection.update(ids=[LEASE_ID], metadatas=[self._record()])
            except Exception:  # the server is briefly unreachable: try again at the next beat
                continue

    def release(self) -> None:
        """Stop the heartbeat and remove the lease if it is still ours."""
        self._stop.set()
        if self._beating is not None:
            self._beating.join(timeout=5)
            self._beating = None
        with contextlib.suppress(Exception):
            self.collection.delete(ids=[LEASE_ID], where={"token": self.token})


def _pid_of(record: dict[str, Any]) -> int | None:
    pid = record.get("pid")
    return int(pid) if isinstance(pid, int | float) else None


@contextlib.contextmanager
def server_lease(
    collection: Any,
    where: str,
    timeout: float = 0.0,
    on_wait: Callable[[int | None], None] | None = None,
    ttl: float = LEASE_SECONDS,
) -> Iterator[ServerLease]:
    """Hold the server collection's writer lease for the duration of the ``with`` block."""
    lease = ServerLease(collection, where, ttl)
    lease.acquire(timeout, on_wait)
    try:
        yield lease
    finally:
        lease.release()
        if lease.lost:  # writes are idempotent, so nothing is corrupted; but another job may have overlapped
            warnings.warn(
                f"the writer lease on {where} lapsed during this run (no heartbeat for {ttl:g} s) and "
                f"another job took it; run `newsdesk index` again to make sure the index is complete",
                RuntimeWarning,
                stacklevel=2,
            )
