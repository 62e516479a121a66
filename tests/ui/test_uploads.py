"""Adding and deleting articles over HTTP: admins only (a role in the auth file), checked files, and a
refused upload changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsdesk.config import Settings
from newsdesk.ui.guard import Credentials, read_auth_file, read_auth_roles, set_password
from newsdesk.ui.uploads import MAX_FILE_BYTES, MAX_FILES, Upload, check_upload_setting, upload_problems
from tests.support import run_newsdesk
from tests.ui.test_app import start_server

ARTICLE = (
    b"Lighthouse keepers return\n"
    b"The Korvel lighthouse keepers returned to the island of Brannoch on Monday.\n"
)
ADMIN, READER = ("ann", "adm1n-pass"), ("bob", "r3ader-pass")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("uploads")
    users = folder / "users.txt"
    for (user, password), extra in ((ADMIN, ["--admin"]), (READER, [])):
        done = run_newsdesk("passwd", str(users), user, *extra, input=password + "\n")
        assert done.returncode == 0, done.stderr
    process, url = start_server(folder / "index", {"NEWSDESK_AUTH_FILE": str(users)})
    yield url, folder / "index"
    process.terminate()
    process.wait(timeout=30)


def post(url: str, login: tuple[str, str], *files: tuple[str, bytes]) -> httpx.Response:
    return httpx.post(
        f"{url}/api/articles",
        auth=login,
        files=[("files", (name, data)) for name, data in files],
        timeout=120,
    )


def count(url: str) -> int:
    return int(httpx.get(f"{url}/api/articles", auth=READER, timeout=30).json()["indexed_articles"])


def test_a_reader_can_neither_add_nor_delete(server: tuple[str, Path]) -> None:
    url, _ = server
    before = count(url)
    assert post(url, READER, ("korvel.txt", ARTICLE)).status_code == 403
    some_id = httpx.get(f"{url}/api/articles", auth=READER, timeout=30).json()["articles"][0]["id"]
    assert httpx.delete(f"{url}/api/articles/{some_id}", auth=READER, timeout=30).status_code == 403
    assert post(url, ("ann", "wrong"), ("korvel.txt", ARTICLE)).status_code == 401
    assert count(url) == before


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("../../etc/cron.d/evil.txt", ARTICLE, "not a plain file name"),
        ("..\\evil.txt", ARTICLE, "not a plain file name"),
        ("huge.txt", b"word " * (MAX_FILE_BYTES // 5 + 1), "5 MB limit"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("tool.exe", ARTICLE, "only .txt, .md, .html, .jsonl"),
    ],
    ids=["traversal", "backslash", "oversized", "binary", "suffix"],
)
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(
    server: tuple[str, Path], name: str, data: bytes, says: str
) -> None:
    url, index = server
    before = count(url)

    refused = post(url, ADMIN, ("fine.txt", ARTICLE), (name, data))

    assert refused.status_code == 400
    body: dict[str, Any] = refused.json()
    assert (
        body["detail"] == "nothing was added" and len(body["problems"]) == 1 and says in body["problems"][0]
    )
    assert count(url) == before
    uploads = index / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not Path("/etc/cron.d/evil.txt").exists()


def test_an_admin_adds_an_article_asks_about_it_and_deletes_it(server: tuple[str, Path]) -> None:
    url, index = server
    before = count(url)

    added = post(url, ADMIN, ("korvel keepers.txt", ARTICLE))

    assert added.status_code == 200, added.text
    result = added.json()
    assert result["added"] == ["korvel keepers.txt"] and result["summary"].startswith("added 1,")
    (stored,) = (index / "uploads").iterdir()
    assert stored.name.endswith(".txt") and "korvel" not in stored.name  # named by its content
    answer = httpx.post(
        f"{url}/api/ask",
        auth=READER,
        json={"question": "Where did the Korvel lighthouse keepers return?"},
        timeout=60,
    ).json()
    assert "Brannoch" in answer["answer"], answer
    assert count(url) == before + 1
    again = post(url, ADMIN, ("copy.txt", ARTICLE)).json()
    assert again["unchanged"] == ["copy.txt"] and again["added"] == []

    article_id = answer["citations"][0]["article_id"]
    deleted = httpx.delete(f"{url}/api/articles/{article_id}", auth=ADMIN, timeout=60)

    assert deleted.status_code == 200 and deleted.json() == {"removed": article_id}
    assert count(url) == before and not stored.exists()
    assert httpx.delete(f"{url}/api/articles/{article_id}", auth=ADMIN, timeout=60).status_code == 404


def test_limits_on_names_and_counts() -> None:
    assert upload_problems([]) == ["No file was sent."]
    many = [Upload(f"a{n}.txt", ARTICLE) for n in range(MAX_FILES + 1)]
    assert "too many" in upload_problems(many)[0]
    assert upload_problems([Upload("ok.md", ARTICLE), Upload("ok.jsonl", b'{"text": "x"}')]) == []
    for bad in ("", ".", "..", "a/b.txt", "nul\x00.txt", "/abs.txt"):
        assert upload_problems([Upload(bad, ARTICLE)]), bad
    assert "empty" in upload_problems([Upload("blank.txt", b"  \n")])[0]


def test_the_admin_role_lives_in_the_auth_file_and_survives_a_password_change(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    set_password(users, "ann", "one", role="admin")
    set_password(users, "bob", "two")
    set_password(users, "ann", "three")  # a new password keeps the role
    assert read_auth_roles(users) == {"ann": "admin"}
    assert set(read_auth_file(users)) == {"ann", "bob"}
    credentials = Credentials.load(None, users)
    assert credentials is not None and credentials.verify("ann", "three") and credentials.is_admin("ann")
    assert not credentials.is_admin("bob") and os.stat(users).st_mode & 0o777 == 0o600
    users.write_text(users.read_text().replace(":admin", ":root"))
    with pytest.raises(Exception, match="user:<argon2 hash>:admin"):
        read_auth_file(users)


def test_allow_uploads_is_refused_on_a_public_address_without_a_login() -> None:
    check_upload_setting(Settings(allow_uploads=True), None)  # 127.0.0.1: a private instance
    with pytest.raises(ValueError, match="without a login"):
        check_upload_setting(Settings(allow_uploads=True, host="0.0.0.0"), None)
