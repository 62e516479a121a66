"""The guards every route shares: one concurrency limit, per-client limits, hashed logins."""

from __future__ import annotations

import base64
import stat
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from newsdesk.errors import CredentialsError
from newsdesk.ui.guard import (
    AskGate,
    Busy,
    ClientLimits,
    Credentials,
    Login,
    LoginRefused,
    Presented,
    VerifiedCache,
    is_open_path,
    presented_credentials,
    set_password,
    user_of,
)


def test_the_gate_answers_concurrency_questions_at_once_lets_queue_wait_and_turns_away_the_rest() -> None:
    gate = AskGate(concurrency=2, queue=1, wait_seconds=5)
    release = threading.Event()
    entered = threading.Semaphore(0)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            with gate.admission(), gate.slot():
                entered.release()
                release.wait(10)
            outcomes.append("answered")
        except Busy:
            outcomes.append("busy")

    first = [threading.Thread(target=ask) for _ in range(2)]
    for thread in first:
        thread.start()
    assert entered.acquire(timeout=5) and entered.acquire(timeout=5)
    waiter = threading.Thread(target=ask)
    waiter.start()
    deadline = time.monotonic() + 5
    while gate.stats()["waiting"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.stats()["waiting"] == 1
    with pytest.raises(Busy):  # two answering, one waiting: the house is full
        gate.admit()
    with pytest.raises(Busy), gate.slot():  # a slot taken without admission still finds the queue full
        pass
    release.set()
    for thread in [*first, waiter]:
        thread.join(10)
    assert sorted(outcomes) == ["answered"] * 3
    assert gate.stats()["peak_asking"] == 2 and gate.stats()["turned_away"] == 2


def test_a_client_past_its_ask_rate_waits_and_others_do_not() -> None:
    limits = ClientLimits(asks="3/minute", failed_logins="")
    assert [limits.ask_allowed("10.0.0.1") for _ in range(3)] == [0, 0, 0]
    wait = limits.ask_allowed("10.0.0.1")
    assert 0 < wait <= 60
    assert limits.ask_allowed("10.0.0.2") == 0


def test_failed_logins_block_even_the_right_password_until_the_window_passes() -> None:
    limits = ClientLimits(asks="", failed_logins="2/second")
    assert limits.login_blocked("c") == 0
    limits.login_failed("c")
    limits.login_failed("c")
    assert limits.login_blocked("c") >= 1
    assert limits.login_blocked("other") == 0
    time.sleep(1.2)
    assert limits.login_blocked("c") == 0


def test_credentials_from_the_environment_are_kept_only_as_a_hash() -> None:
    credentials = Credentials.load("ann:s3cret", None)
    assert credentials is not None
    assert credentials.hashes["ann"].startswith("$argon2") and "s3cret" not in credentials.hashes["ann"]
    assert credentials.verify("ann", "s3cret")
    assert not credentials.verify("ann", "wrong") and not credentials.verify("bob", "s3cret")
    assert Credentials.load(None, None) is None
    with pytest.raises(CredentialsError, match="user:password"):
        Credentials.load("ann", None)


def test_an_auth_file_holds_argon2_hashes_written_by_passwd_and_refuses_clear_passwords(
    tmp_path: Path,
) -> None:
    auth = tmp_path / "users"
    set_password(auth, "ann", "s3cret")
    set_password(auth, "bob", "hunter2")
    set_password(auth, "ann", "changed")
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    text = auth.read_text()
    assert "s3cret" not in text and "changed" not in text and "hunter2" not in text
    credentials = Credentials.load(None, auth)
    assert credentials is not None and set(credentials.hashes) == {"ann", "bob"}
    assert credentials.verify("ann", "changed") and not credentials.verify("ann", "s3cret")
    auth.write_text("ann:plain-password\n")
    with pytest.raises(CredentialsError, match=r"users:1: .*newsdesk passwd"):
        Credentials.load(None, auth)


def test_failed_logins_are_counted_per_user_name_too_from_any_address() -> None:
    limits = ClientLimits(asks="", failed_logins="100/minute", failed_logins_per_user="2/minute")
    limits.login_failed("10.0.0.1", "ann")
    limits.login_failed("10.0.0.2", "ann")
    assert limits.login_blocked("10.0.0.3", "ann") > 0
    assert limits.login_blocked("10.0.0.3", "bob") == 0 and limits.login_blocked("10.0.0.3") == 0


def test_basic_and_bearer_headers_give_the_same_credentials() -> None:
    basic = "Basic " + base64.b64encode("ann:s3:cret é".encode()).decode()
    assert presented_credentials(basic) == Presented("ann", "s3:cret é")
    assert presented_credentials("Bearer ann:s3:cret é") == Presented("ann", "s3:cret é")
    assert presented_credentials("") is None and presented_credentials("Digest x") is None
    for broken in ("Basic !!!", "Basic " + base64.b64encode(b"\xffann:x").decode(), "Bearer no-colon"):
        found = presented_credentials(broken)
        assert found is not None and found.malformed, broken


def test_recent_verifications_are_remembered_for_a_while_and_a_changed_hash_misses() -> None:
    cache = VerifiedCache(size=2, seconds=0.5)
    key = cache.key("ann", "s3cret", "$argon2id$old")
    cache.add(key)
    assert key in cache
    assert cache.key("ann", "s3cret", "$argon2id$new") not in cache  # the password changed
    assert cache.key("ann", "other", "$argon2id$old") not in cache
    cache.add(cache.key("bob", "x", "h"))
    cache.add(cache.key("cy", "x", "h"))
    assert key not in cache and len(cache) == 2  # the oldest went
    cache.add(key)
    time.sleep(0.6)
    assert key not in cache  # expired


def scope_with(authorization: str | None = None, client: str = "10.0.0.9") -> dict[str, Any]:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return {"type": "http", "path": "/api/ask", "headers": headers, "client": (client, 1234)}


def basic(login: str) -> str:
    return "Basic " + base64.b64encode(login.encode()).decode()


def test_one_login_check_throttles_before_hashing_and_answers_every_failure_alike() -> None:
    credentials = Credentials.load("ann:s3cret", None)
    assert credentials is not None
    login = Login(credentials, ClientLimits(asks="", failed_logins="3/minute"))

    async def outcome(authorization: str | None, client: str = "10.0.0.9") -> Any:
        try:
            return await login.authenticate(scope_with(authorization, client))
        except LoginRefused as refused:
            return (refused.status, refused.detail, tuple(sorted(refused.headers)))

    async def scenario() -> None:
        assert await outcome(basic("ann:s3cret")) == "ann"
        hashed = login.hashes_computed
        assert await outcome("Bearer ann:s3cret") == "ann" and login.hashes_computed == hashed  # remembered
        failures = {
            await outcome(basic("ann:wrong")),
            await outcome(basic("nobody:s3cret")),
            await outcome(None),
        }
        assert failures == {(401, "login required", ("WWW-Authenticate",))}
        await outcome(basic("ann:wrong again"))  # the third counted failure
        hashed = login.hashes_computed
        throttled = await outcome(basic("ann:s3cret"))
        assert throttled[0] == 429 and "Retry-After" in throttled[2]
        assert (await outcome(basic("ann:other guess")))[0] == 429
        assert login.hashes_computed == hashed  # no hash for a throttled address
        assert await outcome(basic("ann:s3cret"), client="10.0.0.10") == "ann"

    anyio.run(scenario)


def test_argon2_runs_off_the_event_loop() -> None:
    credentials = Credentials.load("ann:s3cret", None)
    assert credentials is not None
    login = Login(credentials, ClientLimits(asks="", failed_logins=""), workers=1)
    ticks = 0

    async def ticker(done: anyio.Event) -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.sleep(0.001)

    async def scenario() -> None:
        done = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(ticker, done)
            for number in range(4):
                assert not await login.check("ann", f"wrong {number}")
            done.set()

    anyio.run(scenario)
    assert ticks >= 8, f"the event loop ran only {ticks} times during four argon2 checks"


def test_only_the_login_page_and_healthz_answer_before_a_login() -> None:
    for path in ("/", "/login", "/healthz", "/assets/index.js", "/gradio_api/login_check", "/theme.css"):
        assert is_open_path(path, docs_public=False), path
    for path in (
        "/api/ask",
        "/gradio_api/queue/join",
        "/gradio_api/upload",
        "/config",
        "/v1/chat/completions",
    ):
        assert not is_open_path(path, docs_public=True), path
    for path in ("/api/docs", "/redoc", "/api/openapi.json", "/gradio_api/openapi.json", "/gradio_api/info"):
        assert not is_open_path(path, docs_public=False) and is_open_path(path, docs_public=True), path
    assert not is_open_path("/monitoring/x", docs_public=False)


def test_logins_sent_at_once_cannot_slip_past_the_limit_while_they_are_hashed() -> None:
    credentials = Credentials.load("ann:s3cret", None)
    assert credentials is not None
    login = Login(credentials, ClientLimits(asks="", failed_logins="3/minute"))
    statuses: list[int] = []

    async def attempt(number: int) -> None:
        try:
            await login.authenticate(scope_with(basic(f"ann:guess {number}")))
        except LoginRefused as refused:
            statuses.append(refused.status)

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for number in range(12):
                group.start_soon(attempt, number)

    anyio.run(scenario)
    assert login.hashes_computed == 3, login.hashes_computed
    assert sorted(statuses) == [401] * 3 + [429] * 9


def test_a_route_behind_the_guard_reads_who_logged_in() -> None:
    from starlette.requests import Request

    assert user_of(Request({"type": "http", "state": {"user": "ann"}, "headers": []})) == "ann"
    assert user_of(Request({"type": "http", "headers": []})) is None
