"""Errors a user can act on. Each message says what is wrong and how to fix it; the command line
prints it and exits with code 2 (see README: exit codes), never a traceback."""

from __future__ import annotations

from pathlib import Path


class NewsdeskError(Exception):
    """Something the user can fix; the message says how."""


class IndexUnavailable(NewsdeskError, RuntimeError):
    """The index cannot be opened or used."""


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


class ServerBusy(IndexUnavailable):
    """Another indexing job, maybe on another machine, is writing to the same server collection."""

    def __init__(
        self, where: str, holder: str, pid: int | None, age: float, lapse: float, waited: float = 0.0
    ) -> None:
        self.holder = holder
        self.pid = pid
        after = f" after waiting {waited:g} s" if waited > 0 else ""
        super().__init__(
            f"another `newsdesk index` ({holder}, last heartbeat {age:.0f} s ago) is writing to {where}"
            f"{after}; wait for it to finish, or run again with --wait SECONDS (or NEWSDESK_INDEX_WAIT) "
            f"to wait for it. A writer that died lets go {lapse:g} s after its last heartbeat"
        )


class DedupUnavailable(IndexUnavailable):
    """The near-duplicate records cannot be read."""


class RerankerNotFound(NewsdeskError, FileNotFoundError):
    """The configured cross-encoder folder does not hold a model."""


class CredentialsError(NewsdeskError, ValueError):
    """An auth file or ``NEWSDESK_AUTH`` that cannot be used."""


class IndexMissing(IndexUnavailable):
    """A reader found no index (or an empty one) where it looked; nothing was created there."""
