"""The guards every route shares: one concurrency limit, per-client limits, hashed logins."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest

from newsdesk.errors import CredentialsError
from newsdesk.ui.guard import AskGate, Busy, ClientLimits, Credentials, set_password


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
