"""One writer at a time: a second `newsdesk index` on the same index stops at once with a clear
message (or waits, when asked to), and nothing is corrupted. Real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT
from newsdesk.errors import IndexBusy, IndexUnavailable
from newsdesk.index.lock import LOCK_FILE, OWNER_FILE, check_index_folder, index_lock
from newsdesk.index.store import ChunkStore
from tests.conftest import SEED_ARTICLE, SEEDS
from tests.index.test_crash import SQUAD_ARTICLES, wait_for_progress
from tests.support import start_newsdesk

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from newsdesk.index.lock import index_lock
    with index_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of tmp_path/index for 60 s."""
    process = hold(tmp_path / "index", 60)
    yield process
    process.kill()
    process.wait()


def hold(folder: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


def test_a_second_writer_stops_at_once_naming_the_first(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    folder = tmp_path / "index"
    started = time.monotonic()
    with pytest.raises(IndexBusy) as caught, index_lock(folder):
        pytest.fail("took a lock another process holds")
    assert time.monotonic() - started < 2
    assert caught.value.pid == holder.pid
    assert str(caught.value).startswith(
        f"another `newsdesk index` is writing to {folder} (pid {holder.pid}); wait for it"
    )
    assert "--wait SECONDS" in str(caught.value)
    assert isinstance(caught.value, IndexUnavailable)  # the CLI prints it and exits 2


def test_a_writer_told_to_wait_goes_on_when_the_first_finishes(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    first = hold(folder, 1.5)
    waited_for: list[int | None] = []
    started = time.monotonic()
    with index_lock(folder, timeout=60, on_wait=waited_for.append):
        assert time.monotonic() - started >= 0.5
        assert (folder / OWNER_FILE).read_text().strip() == str(os.getpid())
    assert waited_for == [first.pid]
    first.wait(timeout=10)


def test_waiting_gives_up_after_the_timeout(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    with pytest.raises(IndexBusy, match=r"after waiting 0\.5 s"), index_lock(tmp_path / "index", timeout=0.5):
        pass
    assert 0.4 < time.monotonic() - started < 5


def test_a_killed_writer_leaves_no_stale_lock(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    first = hold(folder, 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (folder / OWNER_FILE).exists()  # its pid file stays behind, and does not matter
    with index_lock(folder):
        assert (folder / OWNER_FILE).read_text().strip() == str(os.getpid())
    assert not (folder / OWNER_FILE).exists() and (folder / LOCK_FILE).exists()


def test_a_folder_of_other_files_is_not_taken_for_an_index(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.docx").write_bytes(b"...")
    with pytest.raises(IndexUnavailable, match=r"is not a Newsdesk index .*thesis\.docx.*--db"):
        check_index_folder(documents)
    assert sorted(p.name for p in documents.iterdir()) == ["thesis.docx"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(IndexUnavailable, match="is a file, not a folder"):
        check_index_folder(a_file)
    check_index_folder(tmp_path / "new")  # a new or empty folder is fine
    (tmp_path / "empty").mkdir()
    check_index_folder(tmp_path / "empty")


def newsdesk(*args: str) -> subprocess.Popen[str]:
    return start_newsdesk(
        *args,
        env={
            "NEWSDESK_INDEX_BATCH_ARTICLES": "4",
            # The slowest embedder (fp32, one batch at a time), so that the first run is still
            # writing when the third one starts: the default one indexes these articles in seconds.
            "NEWSDESK_EMBEDDING_BACKEND": "torch",
            "NEWSDESK_EMBEDDING_WORKERS": "1",
            "PYTHONUNBUFFERED": "1",
        },
    )


@pytest.mark.skipif(not SQUAD_ARTICLES.is_file(), reason="needs ../shared/eval/squad2-dev")
def test_two_index_runs_at_once_the_second_stops_or_waits_and_nothing_is_corrupted(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "\n".join(SQUAD_ARTICLES.read_text(encoding="utf-8").splitlines()[:160]), encoding="utf-8"
    )
    db = tmp_path / "index"
    first = newsdesk("index", str(feed), "--db", str(db))
    wait_for_progress(first)  # it holds the lock and is writing

    started = time.monotonic()
    second = newsdesk("index", str(SEEDS), "--db", str(db))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert f"newsdesk: another `newsdesk index` is writing to {db} (pid {first.pid}); wait for it" in err
    assert "Traceback" not in err and time.monotonic() - started < 30
    assert first.poll() is None, "the first run was still writing while the second was refused"

    third = newsdesk("index", str(SEEDS), "--db", str(db), "--wait", "600")
    assert third.stderr is not None
    waiting = f"another `newsdesk index` (pid {first.pid}) is writing to {db}; waiting up to 600 s"
    lines = iter(third.stderr.readline, "")
    assert any(waiting in line for line in lines), "the third run did not wait for the first"

    _, err_first = first.communicate(timeout=600)
    assert first.returncode == 0, err_first
    out_third, err_third = third.communicate(timeout=600)
    assert third.returncode == 0, err_third
    assert f"added: file://{SEED_ARTICLE.resolve()}" in out_third

    # Nothing corrupted: every article of both runs is there once, each with all of its chunks.
    store = ChunkStore(db)
    metadatas = store.collection.get(include=["metadatas"])["metadatas"] or []
    per_article = Counter(str(m["article_id"]) for m in metadatas)
    expected = {json.loads(line)["id"] for line in feed.read_text(encoding="utf-8").splitlines()}
    assert set(per_article) == expected | {f"file://{SEED_ARTICLE.resolve()}"}
    for meta in metadatas:
        assert per_article[str(meta["article_id"])] == meta["n_chunks"]
