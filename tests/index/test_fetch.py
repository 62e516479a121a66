"""The HTTP fetcher: polite (user agent, robots.txt, per-host spacing, retries) and bounded (time, size),
and never a way into the server's own network: every address is checked before any connection.

Traffic goes only to 127.0.0.0/8: 127.0.0.1 is allowed explicitly, 127.0.0.2 stands for an address the
fetcher must refuse, and private ranges are tested on the resolver's answer, never by connecting.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from newsdesk.config import Settings
from newsdesk.index.fetch import Fetcher, FetchError, fetcher_for, refusal
from tests.index.news_server import NewsServer

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def server() -> Iterator[NewsServer]:
    with NewsServer() as running:
        yield running


def make_fetcher(**options: object) -> Fetcher:
    settings = {
        "user_agent": "Newsdesk/test (self-hosted news indexer)",
        "timeout": 2.0,
        "retries": 0,
        "backoff": 0.0,
        "host_interval": 0.0,
        "allow": LOCAL,
        **options,
    }
    return Fetcher(**settings)  # type: ignore[arg-type]


def test_a_page_is_fetched_with_the_user_agent_after_its_sites_robots_txt(server: NewsServer) -> None:
    url = server.serve(
        "/news/a.html", "<p>Hello</p>", headers={"Last-Modified": "Mon, 01 Apr 2024 10:00:00 GMT"}
    )
    fetched = make_fetcher().get(url)
    assert (fetched.status, fetched.content, fetched.url) == (200, b"<p>Hello</p>", url)
    assert fetched.last_modified == "Mon, 01 Apr 2024 10:00:00 GMT"
    assert [seen.path for seen in server.seen] == ["/robots.txt", "/news/a.html"]
    assert {seen.headers["user-agent"] for seen in server.seen} == {
        "Newsdesk/test (self-hosted news indexer)"
    }


def test_the_default_user_agent_names_newsdesk_and_its_version() -> None:
    fetcher = fetcher_for(Settings())
    assert fetcher.user_agent.startswith("Newsdesk/") and "robots.txt" in fetcher.user_agent
    assert fetcher.agent_name == "Newsdesk"


def test_robots_txt_disallowing_a_path_stops_the_page_before_it_is_requested(server: NewsServer) -> None:
    server.serve("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    blocked = server.serve("/private/memo.html", "<p>secret</p>")
    open_page = server.serve("/public.html", "<p>open</p>")
    fetcher = make_fetcher()
    with pytest.raises(FetchError) as caught:
        fetcher.get(blocked)
    assert caught.value.reason == f"robots.txt of {server.url('')} disallows {blocked}"
    assert fetcher.get(open_page).content == b"<p>open</p>"
    assert server.requests_for("/private/memo.html") == 0
    assert server.requests_for("/robots.txt") == 1  # read once per site


def test_robots_rules_for_newsdesk_by_name_are_honoured(server: NewsServer) -> None:
    server.serve("/robots.txt", "User-agent: Newsdesk\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    with pytest.raises(FetchError, match="disallows"):
        make_fetcher().get(server.serve("/a.html", "<p>a</p>"))


def test_a_conditional_request_gets_304_not_modified(server: NewsServer) -> None:
    url = server.serve("/feed.xml", "<rss/>", etag='"v1"')
    first = make_fetcher().get(url)
    assert first.etag == '"v1"' and first.status == 200
    again = make_fetcher().get(url, etag=first.etag)
    assert again.not_modified and again.content == b""
    assert server.seen[-1].headers["if-none-match"] == '"v1"'


def test_a_slow_host_times_out_and_is_retried_with_backoff(server: NewsServer) -> None:
    url = server.serve("/slow.html", "<p>late</p>", delay=1.5)
    server.serve("/robots.txt", "", content_type="text/plain")
    waits: list[float] = []
    fetcher = make_fetcher(timeout=0.5, retries=2, backoff=0.25, sleep=waits.append)
    with pytest.raises(FetchError) as caught:
        fetcher.get(url)
    assert caught.value.reason == "timed out after 0.5 s (after 3 tries)"
    assert waits == [0.25, 0.5]
    assert server.requests_for("/slow.html") == 3


def test_a_busy_server_is_retried_until_it_answers(server: NewsServer) -> None:
    url = server.serve("/busy.html", "<p>ok</p>", fail_times=2)
    waits: list[float] = []
    fetched = make_fetcher(retries=2, backoff=1.0, sleep=waits.append).get(url)
    assert fetched.content == b"<p>ok</p>" and waits == [1.0, 2.0]


def test_a_huge_page_is_cut_off_at_the_size_bound_whether_or_not_it_says_its_size(server: NewsServer) -> None:
    said = server.serve("/said.html", b"<p>" + b"y" * 300_000 + b"</p>")
    unsaid = server.serve("/unsaid.html", stream_bytes=50_000_000)
    fetcher = make_fetcher(max_bytes=100_000)
    with pytest.raises(FetchError, match=r"too large \(300,007 bytes > 100,000\)"):
        fetcher.get(said)
    with pytest.raises(FetchError, match=r"too large \(over 100,000 bytes\)"):
        fetcher.get(unsaid)


def test_a_redirect_to_a_file_url_is_refused(server: NewsServer) -> None:
    url = server.serve("/moved.html", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError) as caught:
        make_fetcher().get(url)
    assert (
        caught.value.reason == "redirect to file:///etc/passwd refused: only http and https URLs are fetched"
    )
    assert caught.value.url == url


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(FetchError, match="only http and https"):
        make_fetcher().get("ftp://127.0.0.1/file")


@pytest.fixture
def forbidden_listener() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.2, an address the fetcher is told not to reach: it must never
    see a connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.2", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def test_a_redirect_to_a_refused_address_is_stopped_before_any_connection(
    server: NewsServer, forbidden_listener: socket.socket
) -> None:
    port = forbidden_listener.getsockname()[1]
    target = f"http://127.0.0.2:{port}/admin"
    url = server.serve("/jump.html", status=301, headers={"Location": target})
    with pytest.raises(FetchError) as caught:
        make_fetcher().get(url)
    assert caught.value.reason.startswith(f"redirect to {target} refused: 127.0.0.2 is a loopback address")
    with pytest.raises(BlockingIOError):
        forbidden_listener.accept()  # nothing ever connected to 127.0.0.2
    # Allowed explicitly, the same redirect is followed (and the listener sees the connection).
    fetcher = make_fetcher(allow=(*LOCAL, ipaddress.ip_network("127.0.0.2/32")), robots=False, timeout=0.5)
    with pytest.raises(FetchError, match="timed out"):
        fetcher.get(url)  # the listener accepts nothing and answers nothing
    connection, _ = forbidden_listener.accept()
    connection.close()


class NoConnections:
    """A client that fails the test if the fetcher ever tries to connect."""

    def stream(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the fetcher connected to a refused address")

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (["10.1.2.3"], "private"),
        (["192.168.0.7"], "private"),
        (["172.16.5.4"], "private"),
        (["169.254.169.254"], "link-local"),
        (["100.64.0.1"], "reserved"),
        (["0.0.0.0"], "unspecified"),
        (["::1"], "loopback"),
        (["fd00::1"], "private"),
        (["fe80::1"], "link-local"),
        (["::ffff:10.0.0.1"], "private"),
        (["93.184.215.14", "10.0.0.9"], "private"),  # one private answer among public ones is enough
    ],
)
def test_private_loopback_and_link_local_answers_of_the_resolver_are_refused(
    answer: list[str], kind: str
) -> None:
    fetcher = make_fetcher(allow=(), resolver=lambda host, port: answer)
    fetcher._client = NoConnections()
    with pytest.raises(FetchError) as caught:
        fetcher.get("http://news.example/story")
    assert caught.value.reason.startswith("refused: news.example resolves to ")
    assert f", a {kind} address (NEWSDESK_FETCH_ALLOW lets an operator allow it)" in caught.value.reason


def test_public_addresses_are_allowed_and_the_allow_list_opens_private_ones() -> None:
    assert refusal("93.184.215.14", ()) is None
    assert refusal("2606:4700::6810:85e5", ()) is None
    assert refusal("10.0.0.5", ()) is not None
    assert refusal("10.0.0.5", (ipaddress.ip_network("10.0.0.0/8"),)) is None
    assert Settings(fetch_allow="127.0.0.1, 10.0.0.0/8").fetch_allowed_networks == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(fetch_allow="intranet")


def test_requests_to_one_host_are_spaced(server: NewsServer) -> None:
    waits: list[float] = []
    fetcher = make_fetcher(host_interval=30.0, sleep=waits.append)
    fetcher.get(server.serve("/a.html", "<p>a</p>"))
    assert len(waits) == 1 and 29 < waits[0] <= 30  # robots.txt, then the page: one wait between them


def test_redirects_are_followed_within_bounds(server: NewsServer) -> None:
    final = server.serve("/final.html", "<p>here</p>")
    server.serve("/start.html", status=302, headers={"Location": "/final.html"})
    assert make_fetcher().get(server.url("/start.html")).url == final
    server.serve("/loop.html", status=302, headers={"Location": "/loop.html"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        make_fetcher().get(server.url("/loop.html"))
