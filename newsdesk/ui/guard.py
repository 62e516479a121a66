"""What keeps a shared demo answering: one concurrency limit for every route, per-client rate limits,
hashed logins with throttling.

- ``AskGate``: at most ``concurrency`` questions are answered at once, over the JSON API and the chat
  together; up to ``queue`` more wait for a slot; past that a question is turned away at once
  (HTTP 503 with Retry-After) instead of piling up threads.
- ``ClientLimits``: asks per client address and failed logins per client address, counted in moving
  windows by the ``limits`` library; past either, HTTP 429 with Retry-After.
- ``Credentials``: users and argon2 password hashes (``argon2-cffi``), read from an auth file or
  ``NEWSDESK_AUTH``; clear passwords are never kept.
- ``Login``: the one login check of every route (a chat session cookie, HTTP Basic, or a Bearer
  token ``user:password``): failed logins counted per client address and per user name, one response
  for every failure, argon2 off the event loop in a small pool, recent successes remembered.
- ``LoginGuard``, ``SchemaHiddenBeforeLogin`` and ``UploadGuard``: ASGI middleware putting every route
  behind the login, the API schema out of the page served before it, and Gradio's upload route behind
  ``NEWSDESK_UPLOAD_MAX_BYTES``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from newsdesk.config import Settings
from newsdesk.errors import CredentialsError
from newsdesk.rag.llm.conversation import MAX_HISTORY_MESSAGES, MAX_MESSAGE_CHARS
from newsdesk.rag.types import Answer
from newsdesk.text import first_unicode_problem, printable
from newsdesk.ui.observe import AppMetrics

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

    def __init__(
        self, asks: str = "120/minute", failed_logins: str = "5/minute", failed_logins_per_user: str = ""
    ) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._asks = parse(asks) if asks else None
        self._logins = parse(failed_logins) if failed_logins else None
        self._user_logins = parse(failed_logins_per_user) if failed_logins_per_user else None
        self._pending: Counter[tuple[str, str | None]] = Counter()
        self._lock = threading.Lock()
        self._refused = 0
        self._refused_lock = threading.Lock()

    def ask_allowed(self, client: str) -> int:
        """Count one ask; 0 when allowed, else seconds until the client may ask again."""
        if self._asks is None or self._limiter.hit(self._asks, "ask", client):
            return 0
        with self._refused_lock:
            self._refused += 1
        return self._retry_after(self._asks, "ask", client)

    @property
    def asks_refused(self) -> int:
        """Asks turned away so far for being over a client's rate (HTTP 429)."""
        with self._refused_lock:
            return self._refused

    def login_blocked(self, client: str, user: str | None = None) -> int:
        """Seconds until the client (or anyone, as ``user``) may try to log in again (0: it may now).

        Logins being checked right now count as failures until they are decided, so many requests
        sent at once cannot all slip past the limit while their passwords are being hashed.
        """
        waits = [0]
        with self._lock:
            pending_client, pending_user = self._pending[("login", client)], self._pending[("user", user)]
        limit = self._logins
        if limit is not None and not self._limiter.test(limit, "login", client, cost=1 + pending_client):
            waits.append(self._retry_after(limit, "login", client))
        limit = self._user_logins
        if (
            limit is not None
            and user is not None
            and not self._limiter.test(limit, "login-user", user, cost=1 + pending_user)
        ):
            waits.append(self._retry_after(limit, "login-user", user))
        return max(waits)

    @contextlib.contextmanager
    def login_pending(self, client: str, user: str | None) -> Iterator[None]:
        """A login of ``client`` as ``user`` is being checked during the ``with`` block."""
        keys = [("login", client), ("user", user)]
        with self._lock:
            self._pending.update(keys)
        try:
            yield
        finally:
            with self._lock:
                self._pending.subtract(keys)
                for key in keys:
                    if self._pending[key] <= 0:
                        del self._pending[key]

    def login_failed(self, client: str, user: str | None = None) -> None:
        """Count one failed login against the client's address and, when one was given, the user name."""
        if self._logins is not None:
            self._limiter.hit(self._logins, "login", client)
        if self._user_logins is not None and user is not None:
            self._limiter.hit(self._user_logins, "login-user", user)

    def _retry_after(self, item: Any, *identifiers: str) -> int:
        reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))


@dataclass(frozen=True)
class Credentials:
    """Users and their argon2 password hashes; ``verify`` is the slow check every login goes through
    (``Login`` runs it off the event loop and remembers recent successes)."""

    hashes: dict[str, str]
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

        stored = self.hashes.get(user)
        if stored is None:
            PasswordHasher().hash(password)  # an unknown user takes as long as a wrong password
            return False
        with contextlib.suppress(Argon2Error, InvalidHashError):
            return bool(PasswordHasher().verify(stored, password))
        return False


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


class LoginRefused(Exception):
    """A request that may not pass the login, and the one response every route gives for it.

    Wrong user, wrong password, a malformed header and no credentials at all get the same status
    and body (``wrong``); once the client address or the user name is throttled, everything gets
    ``throttled``, the right password included; ``busy`` when too many logins are being checked.
    """

    def __init__(self, status: int, detail: str, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers

    @classmethod
    def wrong(cls) -> LoginRefused:
        return cls(401, "login required", {"WWW-Authenticate": 'Basic realm="Newsdesk", charset="UTF-8"'})

    @classmethod
    def throttled(cls, wait: int) -> LoginRefused:
        return cls(429, f"too many failed logins; try again in {wait} s", {"Retry-After": str(wait)})

    @classmethod
    def busy(cls) -> LoginRefused:
        return cls(503, "too many logins at once; try again shortly", {"Retry-After": "1"})

    def response(self) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=self.headers)


@dataclass(frozen=True)
class Presented:
    """Credentials a request presents: a user name and its password (``malformed`` when unreadable)."""

    user: str | None
    secret: str
    malformed: bool = False


def presented_credentials(authorization: str) -> Presented | None:
    """The credentials of an ``Authorization`` header: ``Basic base64(user:password)`` or
    ``Bearer user:password`` (what an OpenAI-style client sends as its API key); None without one."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return Presented(None, "", malformed=True)
    elif scheme.lower() == "bearer":
        decoded = value
    else:
        return None
    user, sep, secret = decoded.partition(":")
    if not sep or not user or first_unicode_problem(decoded, "") is not None:
        return Presented(user or None, "", malformed=True)
    return Presented(user, secret)


class VerifiedCache:
    """Recent successful verifications, so a logged-in client does not pay argon2 on every request.

    Keys are an HMAC (with a key made at start and never stored) of the user, the secret presented
    and the stored hash: a changed password misses, and no secret is kept, not even as a fast hash.
    At most ``size`` entries, each for ``seconds``.
    """

    def __init__(self, size: int = 1024, seconds: float = 600.0) -> None:
        self.size = size
        self.seconds = seconds
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, user: str, secret: str, stored: str) -> bytes:
        message = json.dumps([user, secret, stored]).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires < time.monotonic():
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
            return True

    def add(self, key: bytes) -> None:
        with self._lock:
            self._entries[key] = time.monotonic() + self.seconds
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


VERIFY_WORKERS = 2
"""argon2 checks at once: each takes 64 MiB and a few tenths of a second of CPU (0.3 s measured on the
shared 2-core machine); more at once would only take the cores from the questions being answered."""
VERIFY_WAITING = 32
"""argon2 checks that may wait for a worker; past that a login is told to retry (503)."""


class Login:
    """The one login check of every route when users are configured.

    ``authenticate`` takes a request's ASGI scope and returns the user, or raises ``LoginRefused``:

    1. a chat session (Gradio's login cookie) passes at once;
    2. a client address or user name past its failed-login limit gets 429, before any hash;
    3. HTTP Basic ``user:password`` or ``Authorization: Bearer user:password`` is checked with argon2 in
       a pool of ``VERIFY_WORKERS`` threads (never on the event loop), unless it passed recently;
    4. every failure counts against the address (and the user name given) and gets the same 401.
    """

    def __init__(
        self,
        credentials: Credentials,
        limits: ClientLimits,
        workers: int = VERIFY_WORKERS,
        waiting: int = VERIFY_WAITING,
        cache: VerifiedCache | None = None,
    ) -> None:
        self.credentials = credentials
        self.limits = limits
        self.waiting = waiting
        self.cache = cache or VerifiedCache()
        self.sessions: Callable[[str], str | None] = lambda token: None
        """The user of a chat session token (set to the Gradio app's sessions once it is mounted)."""
        self.session_cookies: tuple[str, ...] = ()
        self._pool = anyio.CapacityLimiter(workers)
        self._queued = 0
        self._client: contextvars.ContextVar[str] = contextvars.ContextVar("login_client", default="unknown")
        self.hashes_computed = 0

    async def authenticate(self, scope: MutableMapping[str, Any]) -> str:
        """The user this request is logged in as; raises ``LoginRefused`` otherwise."""
        from starlette.requests import HTTPConnection

        connection = HTTPConnection(scope)
        for name in self.session_cookies:
            token = connection.cookies.get(name)
            user = self.sessions(token) if token else None
            if user is not None:
                return user
        client = client_of(connection)
        presented = presented_credentials(connection.headers.get("authorization", ""))
        wait = self.limits.login_blocked(client, presented.user if presented else None)
        if wait:
            raise LoginRefused.throttled(wait)
        if presented is None:
            raise LoginRefused.wrong()
        if not presented.malformed and presented.user is not None:
            with self.limits.login_pending(client, presented.user):
                passed = await self.check(presented.user, presented.secret)
            if passed:
                return presented.user
        self.limits.login_failed(client, presented.user)
        raise LoginRefused.wrong()

    async def check(self, user: str, secret: str) -> bool:
        """True for a known user with this password: remembered, or argon2 in the worker pool."""
        key = self.cache.key(user, secret, self.credentials.hashes.get(user, ""))
        if key in self.cache:
            return True
        if self._queued >= self.waiting + self._pool.total_tokens:
            raise LoginRefused.busy()
        self._queued += 1
        try:
            self.hashes_computed += 1
            ok = await anyio.to_thread.run_sync(self.credentials.verify, user, secret, limiter=self._pool)
        finally:
            self._queued -= 1
        if ok:
            self.cache.add(key)
        return ok

    async def chat_login(self, user: str, password: str) -> bool:
        """What the chat's login form (Gradio's ``POST /login``) calls: the same limits and check.

        The client's address comes from ``LoginGuard`` (Gradio passes only the user and password).
        Raises an HTTP 429 (or 503) the form's route answers with; False gives its 400.
        """
        from starlette.exceptions import HTTPException

        client = self._client.get()
        wait = self.limits.login_blocked(client, user)
        try:
            if wait:
                raise LoginRefused.throttled(wait)
            with self.limits.login_pending(client, user):
                passed = await self.check(user, password)
            if passed:
                return True
        except LoginRefused as refused:
            raise HTTPException(refused.status, refused.detail, refused.headers) from None
        self.limits.login_failed(client, user)
        return False

    @contextlib.contextmanager
    def client_context(self, client: str) -> Iterator[None]:
        """Make ``client`` the address ``chat_login`` counts against, for the ``with`` block."""
        token = self._client.set(client)
        try:
            yield
        finally:
            self._client.reset(token)


CHAT_PAGE_PATHS = frozenset(
    {"/", "/login", "/logout", "/favicon.ico", "/theme.css", "/robots.txt", "/manifest.json", "/healthz"}
    | {"/gradio_api/login_check", "/gradio_api/app_id", "/gradio_api/startup-events", "/gradio_api/theme.css"}
)
"""Paths that answer before a login: the login page and what it loads, and the health check."""
CHAT_PAGE_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
API_DOC_PATHS = frozenset(
    {"/api/docs", "/api/openapi.json", "/redoc", "/docs", "/openapi.json", "/docs/oauth2-redirect"}
    | {"/gradio_api/info", "/gradio_api/openapi.json", "/api/docs/oauth2-redirect"}
)
"""The API's descriptions: behind the login unless ``NEWSDESK_API_DOCS_PUBLIC`` opens them."""
METRICS_PATH = "/metrics"
"""Prometheus metrics: behind the login unless ``NEWSDESK_METRICS_OPEN`` opens them."""


def is_open_path(path: str, docs_public: bool, metrics_public: bool = False) -> bool:
    """True for a path that answers without a login; every other path wants one (deny by default)."""
    bare = path.rstrip("/") or "/"
    if bare in CHAT_PAGE_PATHS or path.startswith(CHAT_PAGE_PREFIXES):
        return True
    if metrics_public and bare == METRICS_PATH:
        return True
    return docs_public and bare in API_DOC_PATHS


def app_path(scope: MutableMapping[str, Any]) -> str:
    """The request's path inside the app: behind a proxy's sub-path (``NEWSDESK_ROOT_PATH``) the scope's
    path may carry the prefix, which no rule about the app's own routes should have to know."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", "") or "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


Asgi = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class LoginGuard:
    """ASGI middleware: every route behind ``Login``, except the login page and ``/healthz``.

    A request that passes carries its user in ``scope["state"]["user"]``, and a chat session cookie
    for Gradio's own routes (so HTTP Basic works on ``/gradio_api/*`` as on ``/api/ask``: the right
    password is never told apart from a wrong one by a second, different refusal).
    """

    def __init__(
        self, app: Asgi, login: Login, chat: Any, docs_public: bool = False, metrics_public: bool = False
    ) -> None:
        self.app = app
        self.login = login
        self.chat = chat
        self.docs_public = docs_public
        self.metrics_public = metrics_public
        self._session_of_user: dict[str, str] = {}
        login.sessions = lambda token: chat.tokens.get(token)
        login.session_cookies = (f"access-token-{chat.cookie_id}", f"access-token-unsecure-{chat.cookie_id}")

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if is_open_path(app_path(scope), self.docs_public, self.metrics_public):
            with self.login.client_context(client_of(scope)):
                await self.app(scope, receive, send)
            return
        try:
            user = await self.login.authenticate(scope)
        except LoginRefused as refused:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await refused.response()(scope, receive, send)
            return
        await self.app(self._as_logged_in(scope, user), receive, send)

    def _as_logged_in(self, scope: MutableMapping[str, Any], user: str) -> MutableMapping[str, Any]:
        """The scope with the user in its state and a chat session cookie for Gradio's routes."""
        token = self._session_of_user.get(user)
        if token is None or self.chat.tokens.get(token) != user:
            token = secrets.token_urlsafe(16)
            self.chat.tokens[token] = user
            self._session_of_user[user] = token
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
        cookies = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie"]
        cookies.append(f"access-token-{self.chat.cookie_id}={token}")
        headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
        return {**scope, "headers": headers, "state": {**scope.get("state", {}), "user": user}}


def user_of(request: Any) -> str | None:
    """The user ``LoginGuard`` let this request in as; None when no login is configured (a route such
    as an OpenAI-style ``/v1/chat/completions`` needs nothing else: the guard has checked its Bearer)."""
    state = request.scope.get("state") or {}
    user = state.get("user")
    return user if isinstance(user, str) else None


class SchemaHiddenBeforeLogin:
    """ASGI middleware: the chat page served before a login carries no API schema.

    Gradio writes its API description (``window.gradio_api_info``: endpoints, parameters, code
    snippets) into every ``/`` page, the login page included; with ``NEWSDESK_API_DOCS_PUBLIC`` off,
    a visitor without a session gets the page with an empty schema there (the login page needs one),
    as it gets 401 from the API docs.
    """

    SCHEMA = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.DOTALL)
    EMPTY = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'

    def __init__(self, app: Asgi, login: Login) -> None:
        self.app = app
        self.login = login

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or app_path(scope) != "/" or self._has_session(scope):
            await self.app(scope, receive, send)
            return
        plain = [(k, v) for k, v in scope.get("headers", []) if k != b"accept-encoding"]  # no brotli
        start: dict[str, Any] = {}
        body = bytearray()

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = self.SCHEMA.sub(self.EMPTY, bytes(body))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app({**scope, "headers": plain}, receive, rewrite)

    def _has_session(self, scope: MutableMapping[str, Any]) -> bool:
        from starlette.requests import HTTPConnection

        cookies = HTTPConnection(scope).cookies
        return any(
            self.login.sessions(cookies[name]) for name in self.login.session_cookies if name in cookies
        )


UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/process_recording")
API_UPLOAD_PATH = "/api/articles"
"""``POST /api/articles`` (the Articles API's upload): the same limit and the same admin check."""


class UploadGuard:
    """ASGI middleware: Gradio's upload route and ``POST /api/articles`` closed (404) unless uploads are
    open (``NEWSDESK_UPLOAD_MAX_BYTES``, or an upload feature: admins in the auth file, ``--allow-uploads``);
    when open, a user ``may_upload`` refuses gets 403 and a body over the limit 413, both from the
    headers before a byte is read; a body without a length is refused (411), and one that streams past
    the limit is cut off, its temp files removed.
    """

    def __init__(
        self,
        app: Asgi,
        max_bytes: int,
        upload_dir: Path,
        may_upload: Callable[[str | None], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_dir = upload_dir
        self.may_upload = may_upload

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        path = app_path(scope).rstrip("/") or "/"
        api_upload = scope["type"] == "http" and scope.get("method") == "POST" and path == API_UPLOAD_PATH
        if scope["type"] != "http" or not (path.startswith(UPLOAD_PATHS) or api_upload):
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers
        from starlette.responses import JSONResponse

        def refuse(status: int, detail: str) -> Any:
            return JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)

        if self.max_bytes <= 0:
            await refuse(404, "Not Found")
            return
        user = (scope.get("state") or {}).get("user")
        if self.may_upload is not None and not self.may_upload(user if isinstance(user, str) else None):
            await refuse(403, "only an admin may add articles")  # before a byte of the body is read
            return
        if scope["method"] != "POST" or not (api_upload or path.endswith("/upload")):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is None or not length.isdigit():
            await refuse(411, "an upload needs a Content-Length")
            return
        if int(length) > self.max_bytes:
            await refuse(413, f"an upload may hold at most {self.max_bytes} bytes")
            return
        await self._streamed(scope, receive, send)

    async def _streamed(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """Pass the upload on, counting its bytes; cut off past the limit; temp files of a failed
        upload (Gradio leaves them behind when the multipart parse fails) are removed."""
        received = 0
        started = False
        before = set(self.upload_dir.glob("tmp*")) if self.upload_dir.is_dir() else set()

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge()
            return message

        status = 500

        async def watched(message: Any) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except UploadTooLarge:
            if not started:
                from starlette.responses import JSONResponse

                refusal = JSONResponse({"detail": f"an upload may hold at most {self.max_bytes} bytes"}, 413)
                await refusal(scope, receive, send)
            status = 413
        finally:
            if status >= 400 and self.upload_dir.is_dir():
                for leftover in set(self.upload_dir.glob("tmp*")) - before:
                    with contextlib.suppress(OSError):
                        leftover.unlink()


class UploadTooLarge(Exception):
    """An upload's body went past ``NEWSDESK_UPLOAD_MAX_BYTES`` while it streamed in."""


@dataclass
class Guards:
    """What every route shares: the concurrency gate, per-client limits, the users (if any)."""

    gate: AskGate
    limits: ClientLimits
    credentials: Credentials | None
    follower: IndexFollower | None = None
    login: Login | None = None
    metrics: AppMetrics = field(default_factory=AppMetrics)

    def __post_init__(self) -> None:
        if self.login is None and self.credentials is not None:
            self.login = Login(self.credentials, self.limits)

    def refusals(self) -> dict[str, int]:
        """Questions turned away so far, by reason: ``busy`` (HTTP 503), ``rate_limited`` (HTTP 429)."""
        return {"busy": self.gate.stats()["turned_away"], "rate_limited": self.limits.asks_refused}

    @classmethod
    def from_settings(cls, settings: Settings) -> Guards:
        return cls(
            gate=AskGate(settings.concurrency, settings.queue),
            limits=ClientLimits(
                settings.rate_limit, settings.login_attempts, settings.login_attempts_per_user
            ),
            credentials=Credentials.load(settings.auth, settings.auth_file),
        )


def busy_answer(question: str, message: str) -> Answer:
    """A polite refusal that is not an answer (the service is busy), in the ``Answer`` contract."""
    return Answer(question=printable(question[:300]), answer=message, abstained=True)


def client_of(scope_or_request: Any) -> str:
    """The client's address, from an ASGI scope, a Starlette request or a Gradio request: the one place
    that decides it. It is the peer of the connection or, when the peer is a proxy listed in
    ``NEWSDESK_TRUSTED_PROXIES``, the visitor's address that proxy forwards (uvicorn rewrites the
    scope's client before the app sees it: ``newsdesk.ui.proxy``)."""
    if isinstance(scope_or_request, Mapping):  # a scope, or a Starlette request (a mapping of its scope)
        client = scope_or_request.get("client")
    else:
        client = getattr(scope_or_request, "client", None)
    host = client[0] if isinstance(client, tuple | list) and client else getattr(client, "host", None)
    return str(host) if host else "unknown"


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
    fields = {"The question": question, "An outlet": source, "A date": [since, until], "The history": history}
    for name, value in fields.items():
        problem = first_unicode_problem(value, name)
        if problem is not None:
            return f"{problem}; send UTF-8 text."
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
