"""What keeps a shared demo answering: one concurrency limit for every route, per-client rate limits,
hashed logins with throttling.

- ``AskGate``: at most ``concurrency`` questions are answered at once, over the JSON API and the chat
  together; up to ``queue`` more wait for a slot; past that a question is turned away at once
  (HTTP 503 with Retry-After) instead of piling up threads.
- ``ClientLimits``: asks per client address and failed logins per client address, counted in moving
  windows by the ``limits`` library; past either, HTTP 429 with Retry-After.
- ``Credentials``: users and argon2 password hashes (``argon2-cffi``), read from an auth file or
  ``NEWSDESK_AUTH``; clear passwords are never kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsdesk.config import Settings
from newsdesk.errors import CredentialsError
from newsdesk.rag.llm.conversation import MAX_HISTORY_MESSAGES, MAX_MESSAGE_CHARS
from newsdesk.rag.types import Answer

if TYPE_CHECKING:
    from newsdesk.index.follow import IndexFollower


class Busy(Exception):
    """Every slot is taken and the queue is full: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int = 2) -> None:
        super().__init__("Newsdesk is answering as many questions as it can; please try again shortly.")
        self.retry_after = retry_after


class AskGate:
    """One limit on questions answered at once, shared by every route.

    Args:
        concurrency: questions answered at once. Default: 8.
        queue: questions that may wait for a slot; more are turned away with ``Busy``. Default: 32.
        wait_seconds: longest wait for a slot before ``Busy``. Default: 60.
    """

    def __init__(self, concurrency: int = 8, queue: int = 32, wait_seconds: float = 60.0) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self.asking = 0
        self.waiting = 0
        self.peak_asking = 0
        self.turned_away = 0
        self.admitted = 0

    def admit(self) -> None:
        """Take a place in the house (answering or waiting), or raise ``Busy`` when it is full.

        Every question is admitted before it gets a thread, so questions past ``concurrency + queue``
        are turned away at once instead of waiting unseen for a worker thread. Pair with ``leave``.
        """
        with self._lock:
            if self.admitted >= self.concurrency + self.queue:
                self.turned_away += 1
                raise Busy()
            self.admitted += 1

    def leave(self) -> None:
        with self._lock:
            self.admitted -= 1

    @contextlib.contextmanager
    def admission(self) -> Iterator[None]:
        """``admit`` for the ``with`` block, then ``leave``."""
        self.admit()
        try:
            yield
        finally:
            self.leave()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``concurrency`` slots for the ``with`` block (waiting for one if needed)."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.queue:
                    self.turned_away += 1
                    raise Busy()
                self.waiting += 1
            try:
                acquired = self._slots.acquire(timeout=self.wait_seconds)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not acquired:
                with self._lock:
                    self.turned_away += 1
                raise Busy()
        with self._lock:
            self.asking += 1
            self.peak_asking = max(self.peak_asking, self.asking)
        try:
            yield
        finally:
            with self._lock:
                self.asking -= 1
            self._slots.release()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "asking": self.asking,
                "waiting": self.waiting,
                "peak_asking": self.peak_asking,
                "turned_away": self.turned_away,
                "concurrency": self.concurrency,
            }


class ClientLimits:
    """Moving-window limits per client address: asks, and failed logins.

    Args:
        asks: e.g. "120/minute" (``limits`` notation); "" for no limit. Default: 120/minute.
        failed_logins: e.g. "5/minute"; after that many failures even the right password waits for
            the window to pass. Default: 5/minute.
    """

    def __init__(self, asks: str = "120/minute", failed_logins: str = "5/minute") -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._asks = parse(asks) if asks else None
        self._logins = parse(failed_logins) if failed_logins else None

    def ask_allowed(self, client: str) -> int:
        """Count one ask; 0 when allowed, else seconds until the client may ask again."""
        if self._asks is None or self._limiter.hit(self._asks, "ask", client):
            return 0
        return self._retry_after(self._asks, "ask", client)

    def login_blocked(self, client: str) -> int:
        """Seconds until the client may try to log in again (0: it may now)."""
        if self._logins is None or self._limiter.test(self._logins, "login", client):
            return 0
        return self._retry_after(self._logins, "login", client)

    def login_failed(self, client: str) -> None:
        if self._logins is not None:
            self._limiter.hit(self._logins, "login", client)

    def _retry_after(self, item: Any, *identifiers: str) -> int:
        reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))


@dataclass(frozen=True)
class Credentials:
    """Users and their argon2 password hashes; ``verify`` is what every login goes through."""

    hashes: dict[str, str]
    _verified: set[str] = field(default_factory=set, compare=False, repr=False)
    roles: dict[str, str] = field(default_factory=dict)
    """Each user's role from the auth file (``admin``, or none)."""

    @classmethod
    def load(cls, auth: str | None, auth_file: Path | None) -> Credentials | None:
        """From ``NEWSDESK_AUTH`` ("user:password", hashed here) and an auth file (``user:$argon2...``)."""
        from argon2 import PasswordHasher

        hashes: dict[str, str] = {}
        roles: dict[str, str] = {}
        if auth_file is not None:
            hashes.update(read_auth_file(auth_file))
            roles.update(read_auth_roles(auth_file))
        if auth:
            user, sep, password = auth.partition(":")
            if not sep or not user or not password:
                raise CredentialsError("NEWSDESK_AUTH must look like 'user:password'")
            hashes[user] = PasswordHasher().hash(password)
        return cls(hashes, roles=roles) if hashes else None

    def is_admin(self, user: str) -> bool:
        return self.roles.get(user) == ADMIN

    def verify(self, user: str, password: str) -> bool:
        """True for a known user with the right password (argon2, slow on purpose)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import Argon2Error, InvalidHashError

        cache_key = hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()
        if cache_key in self._verified:
            return True  # a login that worked once is not hashed again on every API request
        stored = self.hashes.get(user)
        if stored is None:
            PasswordHasher().hash(password)  # an unknown user takes as long as a wrong password
            return False
        ok = False
        with contextlib.suppress(Argon2Error, InvalidHashError):
            ok = bool(PasswordHasher().verify(stored, password))
        if ok:
            self._verified.add(cache_key)
        return ok


ADMIN = "admin"
"""The role that may add and delete articles (``user:<argon2 hash>:admin`` in the auth file)."""


def _auth_entries(path: Path) -> dict[str, tuple[str, str]]:
    """``user:hash`` or ``user:hash:role`` lines (``#`` comments allowed); a clear password is refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CredentialsError(f"cannot read the auth file {path} ({error.strerror or error})") from None
    entries: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, rest = line.strip().partition(":")
        stored, _, role = rest.partition(":")  # an argon2 hash holds no ':'
        if not sep or not user or not stored.startswith("$argon2") or role not in ("", ADMIN):
            raise CredentialsError(
                f"{path}:{number}: expected 'user:<argon2 hash>' or 'user:<argon2 hash>:admin'; add users "
                f"with `newsdesk passwd {path} USER` (passwords are never stored in clear)"
            )
        entries[user] = (stored, role)
    return entries


def read_auth_file(path: Path) -> dict[str, str]:
    """Each user's argon2 hash."""
    return {user: stored for user, (stored, _) in _auth_entries(path).items()}


def read_auth_roles(path: Path) -> dict[str, str]:
    """Each user's role (only users with one)."""
    return {user: role for user, (_, role) in _auth_entries(path).items() if role}


def set_password(path: Path, user: str, password: str, role: str | None = None) -> None:
    """Add or replace ``user`` in the auth file with an argon2 hash of ``password`` (file mode 0600);
    ``role`` sets the user's role (``admin``, or "" for none); None keeps the one it has."""
    from argon2 import PasswordHasher

    if not user or ":" in user or not password:
        raise CredentialsError("user names cannot be empty or hold ':', and passwords cannot be empty")
    if role not in (None, "", ADMIN):
        raise CredentialsError(f"unknown role {role!r}: the one role is {ADMIN!r}")
    entries = _auth_entries(path) if path.exists() else {}
    kept_role = entries.get(user, ("", ""))[1] if role is None else role
    entries[user] = (PasswordHasher().hash(password), kept_role)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# Newsdesk users: user:argon2 hash[:admin] (newsdesk passwd FILE USER [--admin])\n")
        out.writelines(
            f"{name}:{stored}{':' + given if given else ''}\n"
            for name, (stored, given) in sorted(entries.items())
        )
    os.replace(temporary, path)


@dataclass
class Guards:
    """What every route shares: the concurrency gate, per-client limits, the users (if any)."""

    gate: AskGate
    limits: ClientLimits
    credentials: Credentials | None
    follower: IndexFollower | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Guards:
        return cls(
            gate=AskGate(settings.concurrency, settings.queue),
            limits=ClientLimits(settings.rate_limit, settings.login_attempts),
            credentials=Credentials.load(settings.auth, settings.auth_file),
        )


def busy_answer(question: str, message: str) -> Answer:
    """A polite refusal that is not an answer (the service is busy), in the ``Answer`` contract."""
    return Answer(question=question[:300], answer=message, abstained=True)


def client_of(scope_or_request: Any) -> str:
    """The client's address (the peer of the connection; put a proxy's own limits in front of it)."""
    client = getattr(scope_or_request, "client", None)
    return str(client.host) if client is not None and client.host else "unknown"


def api_input_problem(question: Any, source: Any, since: Any, until: Any, history: Any = None) -> str | None:
    """A message for inputs of the wrong type (sent by a script, not the chat), else None."""
    if not isinstance(question, str):
        return "The question must be text."
    if source is not None and not (isinstance(source, list) and all(isinstance(s, str) for s in source)):
        return "Outlets must be a list of names."
    if not all(value is None or isinstance(value, str) for value in (since, until)):
        return "Dates must be text such as 2024-03-01, 2024-03 or 2024."
    if history is not None and not _is_history(history):
        return (
            f"The history must be a list of at most {MAX_HISTORY_MESSAGES} messages "
            f'{{"role": "user" or "assistant", "content": text of at most {MAX_MESSAGE_CHARS} characters}}.'
        )
    return None


def _is_history(history: Any) -> bool:
    return (
        isinstance(history, list)
        and len(history) <= MAX_HISTORY_MESSAGES
        and all(
            isinstance(m, dict)
            and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            and len(m["content"]) <= MAX_MESSAGE_CHARS
            for m in history
        )
    )
