"""The one HTTP client of the write path: pages and feeds that users name, fetched politely and safely.

An indexer that fetches user-given URLs on a shared server is an SSRF risk: a URL (or a redirect) to
``127.0.0.1``, ``10.0.0.5`` or ``169.254.169.254`` would make the server read its own private network.
So every hop is checked before any connection is made: the scheme must be http or https, the host is
resolved here, and every address it resolves to must be a public one (or inside the operator's
allow-list, ``NEWSDESK_FETCH_ALLOW``). The connection then goes to the address that was checked (the
``Host`` header and TLS server name keep the host's name), so a second DNS answer cannot swap in
another address. Redirects are followed by hand, each hop checked the same way.

Polite: a clear ``User-Agent``, robots.txt honoured (``urllib.robotparser``), at most one request per
``host_interval`` seconds to a host, retries with exponential backoff on network errors and 429/5xx.
Bounded: ``timeout`` seconds for each request as a whole (connect, every read, and the whole body, so a
host trickling bytes is cut off too) and ``max_bytes`` of body (decompressed).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from newsdesk.config import IPNetwork as Network
from newsdesk.config import Settings

Resolver = Callable[[str, int], Sequence[str]]
"""Host and port to the IP addresses a connection to them would use."""

_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_RETRY_STATUS = frozenset((429, 500, 502, 503, 504))


class FetchError(Exception):
    """A URL that could not be fetched, and why (``url`` is the one the user gave)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for ``host``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host} ({error.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str, allow: Sequence[Network]) -> str | None:
    """What kind of address ``address`` is when a connection to it is refused (None when allowed):
    only public addresses are, unless the operator's allow-list holds it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allow):
        return None
    if ip.is_global and not ip.is_multicast:
        return None
    kinds = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
    )
    return next((name for name, test in kinds if test), "reserved")


@dataclass(frozen=True)
class Fetched:
    """One answer: ``url`` is where it came from after redirects; ``status`` 304 means not modified."""

    url: str
    status: int
    content: bytes
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def ok(self, url: str) -> Fetched:
        """Itself when it is a page (HTTP 2xx); ``FetchError`` naming the status otherwise."""
        if not 200 <= self.status < 300:
            raise FetchError(url, f"HTTP {self.status}")
        return self


@dataclass
class Fetcher:
    """Fetches http(s) URLs within the bounds above; ``get`` raises ``FetchError`` with the reason.

    Args:
        user_agent: sent with every request; its first word is the robots.txt agent name.
        timeout: seconds for a whole request (connect, reads and body). Default: 10.
        max_bytes: largest body read (decompressed). Default: 5 MB.
        retries: further tries after a network error, a timeout or HTTP 429/5xx. Default: 2.
        backoff: seconds before the first retry, doubled for each next one. Default: 1.
        host_interval: least seconds between two requests to one host. Default: 1.
        allow: networks that may be fetched although not public (the operator's allow-list).
        robots: honour robots.txt. Default: true.
        resolver: host to addresses (the system's by default; tests inject their own).
        max_redirects: redirects followed. Default: 5.
    """

    user_agent: str
    timeout: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 2
    backoff: float = 1.0
    host_interval: float = 1.0
    allow: tuple[Network, ...] = ()
    robots: bool = True
    resolver: Resolver = system_resolver
    max_redirects: int = 5
    sleep: Callable[[float], None] = time.sleep
    _client: Any = field(default=None, init=False, repr=False)
    _last_request: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _robots: dict[str, RobotFileParser | bool] = field(default_factory=dict, init=False, repr=False)

    @property
    def client(self) -> Any:
        """One httpx client, made on first use; it never reads proxy settings from the environment
        (a proxy would connect to addresses this module did not check) and never follows redirects."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        """GET ``url``, following redirects hop by hop; conditional when ``etag``/``last_modified``."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.max_redirects + 1):
            self._check_hop(url, current)
            if self.robots and not self._robots_allow(url, current):
                raise FetchError(url, f"robots.txt of {_origin(current)} disallows {current}")
            answer = self._request(url, current, headers)
            location = answer.headers.get("location") if answer.status in _REDIRECTS else None
            if location is None:
                return Fetched(
                    url=current,
                    status=answer.status,
                    content=answer.content,
                    content_type=answer.headers.get("content-type", ""),
                    etag=answer.headers.get("etag", ""),
                    last_modified=answer.headers.get("last-modified", ""),
                )
            current = urljoin(current, location)
        raise FetchError(url, f"more than {self.max_redirects} redirects")

    def _check_hop(self, url: str, current: str) -> None:
        """Refuse a hop (the URL itself or a redirect) to anything but http(s) on an allowed address,
        before robots.txt or anything else of that host is requested."""
        parts = urlsplit(current)
        where = "" if current == url else f"redirect to {current} "
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(url, f"{where}refused: only http and https URLs are fetched")
        try:
            self._address(url, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except FetchError as error:
            raise FetchError(url, f"{where}{error.reason}") from None

    def _address(self, url: str, host: str, port: int) -> str:
        """The address to connect to, checked; ``FetchError`` before any connection when refused."""
        try:
            addresses = list(self.resolver(host, port))
        except OSError as error:
            raise FetchError(url, str(error)) from None
        if not addresses:
            raise FetchError(url, f"cannot resolve {host}")
        for address in addresses:  # every answer must be allowed: any one of them could be used
            kind = refusal(address, self.allow)
            if kind is not None:
                what = f"{host} resolves to {address}, a" if host != address else f"{address} is a"
                allow = "NEWSDESK_FETCH_ALLOW lets an operator allow it"
                raise FetchError(url, f"refused: {what} {kind} address ({allow})")
        return addresses[0]

    def _wait_for_host(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            wait = last + self.host_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _request(self, url: str, current: str, headers: dict[str, str]) -> _Answer:
        """One hop, with retries: checked address, per-host spacing, bounded time and size."""
        attempt = 0
        while True:
            try:
                answer = self._once(url, current, headers)
            except _Transient as error:
                reason = error.reason
            else:
                if answer.status not in _RETRY_STATUS:
                    return answer
                reason = f"HTTP {answer.status}"
            if attempt >= self.retries:
                raise FetchError(url, reason if attempt == 0 else f"{reason} (after {attempt + 1} tries)")
            self.sleep(self.backoff * 2**attempt)
            attempt += 1

    def _once(self, url: str, current: str, headers: dict[str, str]) -> _Answer:
        import httpx

        parts = urlsplit(current)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._address(url, host, port)
        self._wait_for_host(host)
        pinned = f"[{address}]" if ":" in address else address
        target = parts._replace(netloc=f"{pinned}:{port}").geturl()
        host_header = host if parts.port is None else f"{host}:{port}"
        started = time.monotonic()
        try:
            with self.client.stream(
                "GET",
                target,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": host} if parts.scheme == "https" else {},
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, f"too large ({int(declared):,} bytes > {self.max_bytes:,})")
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > self.max_bytes:
                        raise FetchError(url, f"too large (over {self.max_bytes:,} bytes)")
                    if time.monotonic() - started > self.timeout:
                        raise _Transient(f"timed out after {self.timeout:g} s")
                return _Answer(response.status_code, dict(response.headers), bytes(body))
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except httpx.TransportError as error:
            raise _Transient(f"cannot connect ({error.__class__.__name__}: {error})") from None

    def _robots_allow(self, url: str, current: str) -> bool:
        """Whether robots.txt of ``current``'s site lets this agent fetch it (read once per site).

        No robots.txt (404, another 4xx, a redirect) allows everything; 401 or 403 disallows everything (the
        convention of ``urllib.robotparser``); one that cannot be fetched stops the page with that
        reason, to be tried again on the next run.
        """
        origin = _origin(current)
        if origin not in self._robots:
            robots_url = f"{origin}/robots.txt"
            try:
                answer = self._request(url, robots_url, {})
            except FetchError as error:
                raise FetchError(url, f"robots.txt: {error.reason}") from None
            rules: RobotFileParser | bool = answer.status not in (401, 403)
            if answer.status == 200:
                rules = RobotFileParser(robots_url)
                rules.parse(answer.content.decode("utf-8", "replace").splitlines())
            self._robots[origin] = rules
        rules = self._robots[origin]
        return rules if isinstance(rules, bool) else rules.can_fetch(self.agent_name, current)

    @property
    def agent_name(self) -> str:
        return self.user_agent.split("/", 1)[0].split()[0]


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    content: bytes


class _Transient(Exception):
    """A failure worth retrying: network error or timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetcher_for(settings: Settings, resolver: Resolver | None = None) -> Fetcher:
    """The fetcher the settings describe (``NEWSDESK_FETCH_*``)."""
    from newsdesk import __version__

    agent = settings.fetch_user_agent or (
        f"Newsdesk/{__version__.split()[0]} (self-hosted news indexer; honours robots.txt)"
    )
    return Fetcher(
        user_agent=agent,
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        retries=settings.fetch_retries,
        backoff=settings.fetch_backoff,
        host_interval=settings.fetch_host_interval,
        allow=settings.fetch_allowed_networks,
        resolver=resolver or system_resolver,
    )
