"""The ``newsdesk`` command end to end, as a user runs it (real processes, real model, real Chroma)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEED_ARTICLE, SEEDS
from tests.support import CITATION_FIELDS

SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")


def newsdesk(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "index"
    result = newsdesk("index", str(SEEDS), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"added: file://{SEED_ARTICLE.resolve()}" in result.stdout
    return db


def test_help_is_instant_and_lists_the_commands() -> None:
    result = newsdesk("--help")
    assert result.returncode == 0
    for command in ("index", "ask", "serve"):
        assert command in result.stdout


def test_ask_json_names_shoigu_and_follows_the_contract(seeded_db: Path) -> None:
    result = newsdesk("ask", "Who is visiting Beijing for security talks?", "--db", str(seeded_db), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object"
    payload = json.loads(lines[0])
    old_fields = {"question", "answer", "abstained", "citations", "timings_ms"}
    new_fields = {"short_answer", "answer_type", "confidence", "generator", "notice", "standalone_question"}
    assert set(payload) == old_fields | new_fields
    assert payload["generator"] == "extractive" and payload["notice"] == payload["standalone_question"] == ""
    assert "Shoigu" in payload["answer"] and payload["abstained"] is False
    assert "Shoigu" in payload["answer"].split("[")[0], "the first sentence names him"
    assert payload["answer_type"] == "person" and "Shoigu" in payload["short_answer"]
    assert set(payload["timings_ms"]) == {"retrieve", "answer", "total"}
    numbers = {c["n"] for c in payload["citations"]}
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", payload["answer"])}
    assert numbers == markers and numbers
    for c in payload["citations"]:
        assert set(c) == CITATION_FIELDS
        assert c["field"] == "text" and SEED_TEXT[c["start"] : c["end"]] == c["quote"]
        if c["answer_span"]:
            span = c["answer_span"]
            assert c["start"] <= span["start"] <= span["end"] <= c["end"]
            assert SEED_TEXT[span["start"] : span["end"]] == span["text"]


def test_ask_as_of_a_day_and_a_malformed_day_is_a_usage_error(seeded_db: Path) -> None:
    result = newsdesk(
        "ask", "Who is visiting Beijing this week?", "--db", str(seeded_db), "--as-of", "2024-03-05", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert "Shoigu" in json.loads(result.stdout)["short_answer"]
    bad = newsdesk("ask", "Who is visiting Beijing?", "--db", str(seeded_db), "--as-of", "2024-02-30")
    assert bad.returncode == 2 and "--as-of" in bad.stderr and "2024-02-30" in bad.stderr


def test_ask_abstains_on_what_the_articles_do_not_say(seeded_db: Path) -> None:
    result = newsdesk("ask", "What is the capital of Peru?", "--db", str(seeded_db))
    assert result.returncode == 0
    assert "do not answer" in result.stdout and "Sources" not in result.stdout


def test_ask_prints_sources_with_quotes_on_the_terminal(seeded_db: Path) -> None:
    result = newsdesk("ask", "Where will the Su-57 be showcased?", "--db", str(seeded_db), "-k", "3")
    assert result.returncode == 0
    assert (
        "Zhuhai" in result.stdout and "Sources:" in result.stdout and "[1] Chinese-Russian" in result.stdout
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [("", "Please type a question"), ("x" * 100_000, "100,000 characters"), ("谁在北京？", "English")],
)
def test_bad_questions_get_a_polite_reply_not_a_traceback(
    seeded_db: Path, question: str, expected: str
) -> None:
    result = newsdesk("ask", question, "--db", str(seeded_db), "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert expected in payload["answer"] and payload["abstained"] is True


@pytest.mark.parametrize(
    ("flag", "typed", "why"),
    [
        ("--since", "2024-02-30", "(February 2024 has 29 days)"),
        ("--until", "2023-13", "(there is no month 13)"),
        ("--since", "last week", ""),
    ],
)
def test_a_mistyped_date_says_what_is_wrong_and_what_is_accepted(
    tmp_path: Path, flag: str, typed: str, why: str
) -> None:
    result = newsdesk("ask", "Who is visiting Beijing?", flag, typed, "--db", str(tmp_path / "index"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    what = f"{typed!r} is not a date{' ' + why if why else ''}"
    assert f"argument {flag}: {what}: give YYYY-MM-DD, YYYY-MM or YYYY" in result.stderr
    assert not (tmp_path / "index").exists()


def test_reindexing_reports_unchanged_and_writes_nothing(seeded_db: Path) -> None:
    result = newsdesk("index", str(SEEDS), "--db", str(seeded_db))
    assert result.returncode == 0
    assert "unchanged: 1 article(s)" in result.stdout and "0 chunks written" in result.stdout


def test_index_reports_skipped_files_with_reason_and_prunes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    (docs / "b.txt").write_text("Bridge\nThe bridge closed for repairs in the spring.", encoding="utf-8")
    (docs / "broken.jsonl").write_text("{oops\n", encoding="utf-8")
    db = tmp_path / "db"
    first = newsdesk("index", str(docs), "--db", str(db))
    assert first.returncode == 0
    assert f"skipped: {docs / 'broken.jsonl'}:1: broken JSON" in first.stdout
    assert first.stdout.count("added: ") == 2
    (docs / "b.txt").unlink()
    second = newsdesk("index", str(docs), "--db", str(db), "--prune")
    assert f"removed: file://{(docs / 'b.txt').resolve()}" in second.stdout


def test_index_skips_pipes_loops_noise_and_bad_dates_by_name_and_indexes_the_rest(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    (docs / "loop.txt").symlink_to(docs / "loop.txt")
    os.mkfifo(docs / "pipe.md")
    (docs / "noise.txt").write_bytes(b'\xf5\xb1e"JX\xb7\x91\xdfj\xf1\xd80>a\xcd\x86\xc3')
    rows = [
        {"id": "j1", "text": "The bridge closed for repairs in the spring.", "published": "2023-13-45"},
        {"id": "j2", "text": "The ferry resumed service on Sunday.", "published": "2023-10-05T12:00:00Z"},
    ]
    (docs / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    fifo, loop = tmp_path / "x.txt", tmp_path / "loop.md"
    os.mkfifo(fifo)
    loop.symlink_to(loop)
    # A FIFO that is opened blocks the run (holding the index lock): the timeout turns that into a failure.
    result = newsdesk("index", str(loop), str(fifo), str(docs), "--db", str(tmp_path / "db"), timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    skipped = sorted(line for line in result.stdout.splitlines() if line.startswith("skipped: "))
    assert skipped == sorted(
        [
            f"skipped: {loop}: symbolic link loop",
            f"skipped: {fifo}: not a regular file (a FIFO)",
            f"skipped: {docs / 'loop.txt'}: symbolic link loop",
            f"skipped: {docs / 'pipe.md'}: not a regular file (a FIFO)",
            f"skipped: {docs / 'noise.txt'}: not text (garbled in every encoding tried)",
            f"skipped: {docs / 'feed.jsonl'}:1: field 'published': '2023-13-45' is not a date (there is no "
            "month 13)",
        ]
    )
    added = sorted(line for line in result.stdout.splitlines() if line.startswith("added: "))
    assert added == sorted(["added: j2", f"added: file://{(docs / 'a.txt').resolve()}"])
    ask = newsdesk("ask", "When did the ferry resume?", "--db", str(tmp_path / "db"), "--json")
    [citation, *_] = json.loads(ask.stdout)["citations"]
    assert citation["published"] == "2023-10-05"


def test_every_spelling_of_a_path_is_one_article_with_a_file_url(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    (tmp_path / "linked").symlink_to(SEEDS)
    first = newsdesk("index", str(SEEDS.resolve()), "--db", db)
    assert first.returncode == 0 and "added 1, updated 0, unchanged 0" in first.stdout, first.stdout
    for spelling, cwd in (("seeds", SEEDS.parent), ("../seeds/.", SEEDS), ("linked", tmp_path)):
        again = newsdesk("index", spelling, "--db", db, cwd=cwd)
        assert "added 0, updated 0, unchanged 1" in again.stdout, (spelling, again.stdout)
    answer = json.loads(
        newsdesk("ask", "Who is visiting Beijing for security talks?", "--db", db, "--json").stdout
    )
    assert {c["url"] for c in answer["citations"]} == {SEED_ARTICLE.resolve().as_uri()}
    assert {c["article_id"] for c in answer["citations"]} == {f"file://{SEED_ARTICLE.resolve()}"}


def test_prune_judges_only_the_paths_given_keeps_a_broken_files_articles_and_previews(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    rows = {
        n: {
            "id": f"x{n}",
            "url": f"https://w/{n}",
            "text": f"Story {n} is about the {n}th bridge of the town.",
        }
        for n in (1, 2, 3)
    }
    news = tmp_path / "feed.jsonl"
    news.write_text("\n".join(json.dumps(rows[n]) for n in (1, 2, 3)), encoding="utf-8")
    assert newsdesk("index", str(SEEDS), "--db", db).returncode == 0
    assert newsdesk("index", str(news), "--db", db).returncode == 0
    news.write_text("\n".join(json.dumps(rows[n]) for n in (1, 3)), encoding="utf-8")

    preview = newsdesk("index", str(news), "--prune", "--dry-run", "--db", db)
    assert preview.returncode == 0, preview.stderr
    assert (
        "would remove: x2" in preview.stdout and "left alone: 1 article(s) from other paths" in preview.stdout
    )
    assert "dry run, nothing written: would have added 0, updated 0, unchanged 2" in preview.stdout
    assert "removed 1" in preview.stdout and "7 chunks in all" in preview.stdout  # x2 still there

    pruned = newsdesk("index", str(news), "--prune", "--db", db)
    assert "removed: x2" in pruned.stdout and "6 chunks in all" in pruned.stdout
    seed_question = newsdesk("ask", "Who is visiting Beijing for security talks?", "--db", db)
    assert "Shoigu" in seed_question.stdout  # the seeds, indexed from another path, survive

    news.write_text(json.dumps(rows[3])[:-5] + "\n", encoding="utf-8")  # x1 gone, x3's line broken
    kept = newsdesk("index", str(news), "--prune", "--db", db)
    assert kept.returncode == 1 and "removed: " not in kept.stdout and "6 chunks in all" in kept.stdout
    assert f"skipped: {news}:1: broken JSON" in kept.stdout
    for article_id in ("x1", "x3"):
        assert f"kept: {article_id} ({news.resolve()} could not be read in full in this run)" in kept.stdout


def test_index_home_comes_from_the_environment(tmp_path: Path) -> None:
    result = newsdesk("index", str(SEED_ARTICLE), env={"NEWSDESK_HOME": str(tmp_path / "home")})
    assert result.returncode == 0
    assert (tmp_path / "home" / "index").is_dir()


def test_an_unusable_index_folder_gives_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "file"
    bogus.write_text("not an index")
    result = newsdesk("ask", "Who?", "--db", str(bogus))
    assert (
        result.returncode == 2
        and "is a file, not a folder" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_index_json_prints_the_runs_report_as_one_object(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    (docs / "broken.jsonl").write_text("{oops\n", encoding="utf-8")
    db = tmp_path / "db"
    first = newsdesk("index", str(docs), "--db", str(db), "--json")
    assert first.returncode == 0, first.stderr
    [line] = first.stdout.splitlines()  # nothing else on stdout: the progress stays off it
    report = json.loads(line)
    assert report["added"] == [f"file://{(docs / 'a.txt').resolve()}"] and report["unchanged"] == []
    [skipped] = report["skipped"]
    assert skipped["path"] == str(docs / "broken.jsonl") and skipped["line"] == 1
    assert skipped["reason"].startswith("broken JSON")
    assert report["index"] == str(db) and report["chunks"] >= 1 and report["dry_run"] is False
    assert report["summary"].startswith("added 1, updated 0, unchanged 0")
    again = json.loads(newsdesk("index", str(docs / "a.txt"), "--db", str(db), "--json").stdout)
    assert again["added"] == [] and again["unchanged"] == report["added"] and again["chunks_written"] == 0
    nothing = newsdesk("index", str(docs / "broken.jsonl"), "--db", str(db), "--json")
    assert nothing.returncode == 1 and json.loads(nothing.stdout)["skipped"][0]["line"] == 1


@pytest.mark.parametrize("command", [("ask", "Who?"), ("serve",), ("eval", "examples/eval-mini")])
@pytest.mark.parametrize("spelling", ["-k", "--k"])
def test_k_is_spelled_the_same_on_every_command_that_takes_it(
    command: tuple[str, ...], spelling: str
) -> None:
    from newsdesk.cli import build_parser, settings_from

    args = build_parser().parse_args([*command, spelling, "7"])
    assert args.k == 7
    if command[0] != "eval":  # eval's k is the depth of its retrieval metrics, not NEWSDESK_K
        assert settings_from(args).k == 7


def test_eval_reports_metrics_and_writes_predictions(tmp_path: Path) -> None:
    data = tmp_path / "set"
    data.mkdir()
    articles = [
        {
            "id": "a",
            "title": "Harbour",
            "url": "u://a",
            "text": "The harbour reopened on Friday after the storm.",
        },
        {
            "id": "b",
            "title": "Bridge",
            "url": "u://b",
            "text": "The old bridge closed for repairs in the spring.",
        },
    ]
    questions = [
        {
            "id": "1",
            "question": "When did the harbour reopen?",
            "answers": ["Friday"],
            "answerable": True,
            "gold_urls": ["u://a"],
        },
        {
            "id": "2",
            "question": "Why did the bridge close?",
            "answers": ["repairs"],
            "answerable": True,
            "gold_urls": ["u://b"],
        },
    ]
    (data / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    (data / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions), encoding="utf-8")
    predictions = tmp_path / "predictions.jsonl"
    result = newsdesk("eval", str(data), "--json", "--predictions", str(predictions))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["newsdesk"]
    assert metrics["hit@1"] == 1.0 and metrics["answer_containment"] == 1.0
    assert metrics["citation_verbatim_rate"] == 1.0
    lines = predictions.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2"]


def test_the_example_eval_set_of_the_readme_runs() -> None:
    from newsdesk.config import REPO_ROOT

    result = newsdesk("eval", "examples/eval-mini", "--json", cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["newsdesk"]
    assert (metrics["n_questions"], metrics["n_answerable"], metrics["n_unanswerable"]) == (8, 5, 3)
    assert metrics["hit@1"] == 1.0 and metrics["citation_verbatim_rate"] == 1.0
    assert metrics["lead_containment"] == 1.0  # every answerable question answered in the first sentence
    # The mayor and the ferry passengers are named nowhere: refused. The stadium's cost is answered with
    # the library's (the reader checks roles and counted things, not every noun): 2 of 3.
    assert metrics["abstention_recall"] >= 2 / 3 and metrics["abstention_precision"] == 1.0


# ---- index at scale: progress, duplicates, one writer at a time (index/progress.py, dedup.py, lock.py) ----


def feed_with_a_duplicate(folder: Path, extra: int = 9) -> tuple[Path, str]:
    """The seed story, the same story from another outlet (one word changed), and ``extra`` others."""
    words = SEED_TEXT.split(" ")
    words[len(words) // 2] = "reportedly"
    rows = [
        {
            "id": "seed",
            "title": "Talks",
            "text": SEED_TEXT,
            "source": "Wire",
            "url": "https://wire.example/1",
        },
        {
            "id": "copy",
            "title": "Talks",
            "text": " ".join(words),
            "source": "Daily",
            "url": "https://d.example/1",
        },
    ]
    rows += [
        {"id": f"other-{n}", "text": f"Story number {n} is about the {n}th bridge of the old town."}
        for n in range(extra)
    ]
    path = folder / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path, "duplicate: copy (duplicate of seed)"


def test_index_prints_progress_lines_and_duplicates_and_stays_idempotent(tmp_path: Path) -> None:
    import re

    feed, duplicate_line = feed_with_a_duplicate(tmp_path)
    db = tmp_path / "db"
    env = {"NEWSDESK_INDEX_BATCH_ARTICLES": "4"}
    first = newsdesk("index", str(feed), "--db", str(db), env=env)
    assert first.returncode == 0, first.stderr
    progress = [line for line in first.stderr.splitlines() if line.startswith("indexed ")]
    assert re.fullmatch(r"indexed 4/11 articles, \d+\.\d articles/s, ETA \d+ s", progress[0])
    assert re.fullmatch(r"indexed 11/11 articles, \d+\.\d articles/s, \d+ s in all", progress[-1])
    assert duplicate_line in first.stdout
    assert "added 10, updated 0, unchanged 0, duplicates 1 (1 new)" in first.stdout

    again = newsdesk("index", str(feed), "--db", str(db), "--quiet", env=env)
    assert again.returncode == 0
    assert "indexed " not in again.stderr and duplicate_line not in again.stdout
    assert "unchanged 10, duplicates 1 (0 new)" in again.stdout and "(0 chunks written)" in again.stdout


def test_index_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    feed, _ = feed_with_a_duplicate(tmp_path, extra=3)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "newsdesk.cli", "index", str(feed), "--db", str(tmp_path / "db")],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        drawn += chunk
    process.wait(timeout=300)
    os.close(leader)
    assert process.returncode == 0
    screen = drawn.decode("utf-8", "replace")
    assert "indexing: 100%" in screen and "5/5" in screen and "articles/s" in screen
    assert "indexed 5/5" not in screen  # no plain lines on a terminal


def test_plain_progress_lines_come_first_then_every_interval_then_at_the_end() -> None:
    import io

    from newsdesk.index.progress import PlainProgress, format_seconds

    now = [100.0]
    out = io.StringIO()
    progress = PlainProgress(out, interval=5.0, clock=lambda: now[0])
    for done, at in [(0, 100.0), (64, 101.0), (128, 103.0), (192, 106.5), (256, 107.0), (300, 108.0)]:
        now[0] = at
        progress(done, 300)
    assert out.getvalue().splitlines() == [
        "indexed 64/300 articles, 64.0 articles/s, ETA 4 s",
        "indexed 192/300 articles, 29.5 articles/s, ETA 4 s",
        "indexed 300/300 articles, 37.5 articles/s, 8 s in all",
    ]
    assert [format_seconds(s) for s in (45, 185, 7620)] == ["45 s", "3 min 05 s", "2 h 07 min"]


def test_index_wait_is_a_flag_and_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    help_text = newsdesk("index", "--help")
    assert "--wait SECONDS" in help_text.stdout and "NEWSDESK_INDEX_WAIT" in help_text.stdout
    result = newsdesk(
        "index", str(SEED_ARTICLE), "--db", str(tmp_path / "db"), env={"NEWSDESK_INDEX_WAIT": "soon"}
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "NEWSDESK_INDEX_WAIT (or its flag) is invalid" in result.stderr and "'soon'" in result.stderr


# ---- serve: logins never on the command line, a busy port said plainly ----


def test_passwd_writes_a_hash_and_serve_refuses_a_password_on_the_command_line(tmp_path: Path) -> None:
    auth = tmp_path / "users.txt"
    made = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "passwd", str(auth), "ann"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert auth.read_text().count("ann:$argon2") == 1 and "s3cret" not in auth.read_text()
    refused = newsdesk("serve", "--db", str(tmp_path / "index"), "--auth", "ann:s3cret")
    assert refused.returncode == 2
    assert "--auth-file" in refused.stderr and "ps" in refused.stderr
    assert not (tmp_path / "index").exists()


def test_serve_on_a_busy_port_says_so_and_exits_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newsdesk("serve", "--db", str(tmp_path / "index"), "--port", str(port))
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "already in use" in result.stderr and "--port" in result.stderr
    assert "serving on" not in result.stderr and "Traceback" not in result.stderr


# ---- readers never create an index; the version; listing and deleting articles ----


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    result = newsdesk("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"newsdesk {version('newsdesk')}"


def test_ask_and_articles_on_a_missing_index_create_nothing_and_say_how_to_fix_it(tmp_path: Path) -> None:
    for command in (("ask", "Who is visiting Beijing?"), ("articles",), ("articles", "--delete", "x")):
        elsewhere = newsdesk(*command, cwd=tmp_path)  # run from a folder without an index
        assert elsewhere.returncode == 2 and "Traceback" not in elsewhere.stderr
        assert f"no index at {tmp_path / '.newsdesk' / 'index'}." in elsewhere.stderr
        assert "newsdesk index PATH --db" in elsewhere.stderr and "NEWSDESK_HOME" in elsewhere.stderr
        mistyped = newsdesk(*command, "--db", str(tmp_path / "indx"))
        assert mistyped.returncode == 2 and f"no index at {tmp_path / 'indx'}." in mistyped.stderr
        assert "The indexed articles do not answer" not in elsewhere.stdout + mistyped.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_empty_index_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    db = tmp_path / "db"
    assert newsdesk("index", str(tmp_path / "empty.txt"), "--db", str(db)).returncode == 1
    for command in (("ask", "Who is visiting Beijing?"), ("articles",)):
        result = newsdesk(*command, "--db", str(db))
        assert result.returncode == 2 and f"the index at {db} holds no articles." in result.stderr


def test_ask_on_a_server_without_the_collection_creates_nothing(tmp_path: Path, chroma_url: str) -> None:
    import chromadb

    env = {"NEWSDESK_COLLECTION": "never-indexed", "NEWSDESK_HOME": str(tmp_path / "home")}
    result = newsdesk("ask", "Who is visiting Beijing?", "--chroma-url", chroma_url, env=env)
    assert result.returncode == 2
    assert f"no collection 'never-indexed' on the Chroma server {chroma_url}" in result.stderr
    host, port = chroma_url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port))
    assert "never-indexed" not in {c.name for c in client.list_collections()}
    assert not (tmp_path / "home").exists()


def articles_in(db: str, *args: str) -> dict[str, dict[str, object]]:
    result = newsdesk("articles", "--db", db, "--json", *args)
    assert result.returncode == 0, result.stderr
    return {a["id"]: a for a in json.loads(result.stdout)["articles"]}


def test_articles_lists_filters_and_deletes_and_a_reindex_brings_an_article_back(tmp_path: Path) -> None:
    feed, _ = feed_with_a_duplicate(tmp_path, extra=1)  # seed (Wire), copy (Daily: a near-duplicate)
    harbour = tmp_path / "harbour.txt"
    harbour.write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    db = str(tmp_path / "db")
    assert newsdesk("index", str(feed), str(harbour), "--db", db).returncode == 0
    listed = articles_in(db)
    assert set(listed) == {"seed", "other-0", f"file://{harbour.resolve()}"}
    assert listed["seed"]["origin"] == str(feed.resolve()) and listed["seed"]["source"] == "Wire"
    assert [(d["article_id"], d["source"], d["origin"]) for d in listed["seed"]["also_in"]] == [  # type: ignore[union-attr]
        ("copy", "Daily", str(feed.resolve()))
    ]
    assert set(articles_in(db, "--source", "daily")) == set(articles_in(db, "--source", "WIRE")) == {"seed"}
    text = newsdesk("articles", "--db", db)
    assert "seed  -  Wire  " in text.stdout and "    also in: copy  -  Daily" in text.stdout
    assert f"Harbour  [{harbour.resolve()}]" in text.stdout
    assert text.stdout.splitlines()[-1] == f"3 article(s), 6 chunks, 1 near-duplicate(s) in {db}"

    preview = newsdesk("articles", "--db", db, "--delete", "copy", "--dry-run")
    assert "would remove: copy" in preview.stdout and articles_in(db)["seed"]["also_in"]
    deleted = newsdesk("articles", "--db", db, "--delete", "copy")
    assert deleted.returncode == 0 and "removed: copy" in deleted.stdout
    assert articles_in(db)["seed"]["also_in"] == []  # the kept article no longer names it

    gone = newsdesk("articles", "--db", db, "--delete", f"file://{harbour.resolve()}", "--delete", "nope")
    assert gone.returncode == 1 and "no article 'nope'" in gone.stderr
    assert set(articles_in(db)) == {"seed", "other-0"}

    again = newsdesk("index", str(feed), str(harbour), "--db", db)
    assert f"added: file://{harbour.resolve()}" in again.stdout
    assert "duplicate: copy (duplicate of seed)" in again.stdout
    assert [d["article_id"] for d in articles_in(db)["seed"]["also_in"]] == ["copy"]  # type: ignore[union-attr]

    promoted = newsdesk("articles", "--db", db, "--delete", "seed")
    assert "removed: seed" in promoted.stdout and "promoted: copy" in promoted.stdout
    assert set(articles_in(db)) == {"copy", "other-0", f"file://{harbour.resolve()}"}


def test_a_file_of_mixed_encodings_answers_the_question_it_holds(tmp_path: Path) -> None:
    """Issue 20's file: a UTF-8 line, then a Windows-1252 one (it was stored as ``cafÃ© ... MÃ¼ller``)."""
    article = tmp_path / "zurich.txt"
    article.write_bytes("The café in Zürich, said Müller.\n".encode() + b"Le gar\xe7on.\n")
    db = str(tmp_path / "index")
    indexed = newsdesk("index", str(article), "--db", db)
    assert indexed.returncode == 0 and "added:" in indexed.stdout, indexed.stdout + indexed.stderr
    asked = newsdesk("ask", "What did Müller say about the café in Zürich?", "--db", db, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["abstained"] is False and "The café in Zürich, said Müller." in answer["answer"], answer
    assert "Ã" not in asked.stdout
