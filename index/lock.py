"""One writer per index: a lock file in the index folder, held for a whole indexing run.

The lock is an OS file lock (``filelock``: ``flock`` on Unix), so it is released by the kernel when
its holder exits in any way, ``kill -9`` included: a crashed run never leaves a stale lock behind.
The holder's pid is written beside it so the next writer can say who it is waiting for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from index.store import IndexUnavailable

LOCK_FILE = "newsdesk-index.lock"
OWNER_FILE = "newsdesk-index.pid"
# Files that mark a folder as a Newsdesk index (or one being made): Chroma's database, ours.
INDEX_MARKERS = ("chroma.sqlite3", LOCK_FILE, OWNER_FILE, "lexical.sqlite")


def is_index_file(name: str) -> bool:
    return name in INDEX_MARKERS or (name.startswith("dedup") and name.endswith(".sqlite"))


class IndexBusy(IndexUnavailable):
    """Another process is writing to the index."""

    def __init__(self, folder: Path, pid: int | None, waited: float = 0.0) -> None:
        self.folder = folder
        self.pid = pid
        self.waited = waited
        who = f" (pid {pid})" if pid is not None else ""
        after = f" after waiting {waited:g} s" if waited > 0 else ""
        super().__init__(
            f"another `newsdesk index` is writing to {folder}{who}{after}; wait for it to finish, or run "
            f"again with --wait SECONDS (or NEWSDESK_INDEX_WAIT) to wait for it"
        )


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
