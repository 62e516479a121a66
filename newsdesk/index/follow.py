"""Keeps a serving process in step with indexing runs in other processes, from one thread.

This thread is the only one that swaps the store's view (embedded Chroma) or writes the app's own
BM25 mirror (Chroma server), so no lock is ever taken twice and a request never waits for a
refresh: it reads from the view it started with, old or new (``ChunkStore.reading``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsdesk.index.store import ChunkStore

_log = logging.getLogger("newsdesk.follow")

FULL_COMPARE_EVERY = 12
"""With a Chroma server, ticks between full comparisons of the id sets (others compare counts)."""


@dataclass
class IndexFollower:
    """Refreshes ``store`` every ``every_seconds`` until ``stop`` is set.

    Embedded store: when its files change, a fresh view replaces the old one (which closes once the
    questions reading from it end); the BM25 mirror beside it is kept by the indexing run itself.
    Chroma server: the server is always current; this process's own BM25 mirror is brought in line
    (counts every tick, full id sets every ``FULL_COMPARE_EVERY`` ticks).

    Args:
        store: the app's store.
        every_seconds: seconds between checks. Default: 5.
    """

    store: ChunkStore
    every_seconds: float = 5.0
    refreshed: str = ""
    """ISO time of the last check (UTC)."""
    last_error: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def generation(self) -> int:
        """Grows each time the app switches to a fresh view of the index."""
        return self.store.generation

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="newsdesk-follow-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        seen = self.store.data_version()
        tick = 0
        while not self._stop.wait(self.every_seconds):
            tick += 1
            try:
                seen = self.check(seen, full=tick % FULL_COMPARE_EVERY == 0)
                self.last_error = ""
            except Exception as error:  # keep serving from the current view; the next tick tries again
                self.last_error = f"{type(error).__name__}: {error}"
                _log.warning("index refresh failed: %s", self.last_error)
            self.refreshed = datetime.now(UTC).isoformat(timespec="seconds")

    def check(self, seen: float | None, full: bool = False) -> float | None:
        """One refresh step; returns the data version now seen."""
        store = self.store
        version = store.data_version()
        if version is None:
            store.sync_mirror(full=full)
        elif version != seen:
            started = time.monotonic()
            store.refresh_view()
            took = time.monotonic() - started
            if took > self.every_seconds:
                _log.warning("refreshing the index view took %.1f s", took)
        return version
