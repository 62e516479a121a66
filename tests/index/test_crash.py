"""Crash safety, end to end: `newsdesk index` killed (SIGKILL) or interrupted (Ctrl-C) part-way, then
run again, leaves exactly the index a clean run makes: same chunk ids, chunks per article, texts,
metadata (``also_in`` included), vectors and duplicate records; no duplicates, no orphans.

Real processes over real articles (a subset of the squad2-dev eval set, plus near-duplicates of some
of them from other outlets), with small batches so that the kills land part-way through.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsdesk.config import REPO_ROOT
from newsdesk.index.store import ChunkStore

SQUAD_ARTICLES = REPO_ROOT.parent / "shared" / "eval" / "squad2-dev" / "articles.jsonl"
N_ARTICLES = 88
BATCH = 8
PROGRESS = re.compile(r"indexed (\d+)/(\d+) articles")

pytestmark = pytest.mark.skipif(not SQUAD_ARTICLES.is_file(), reason="needs ../shared/eval/squad2-dev")


def variant(article: dict[str, Any], outlet: str, edit: int) -> dict[str, Any]:
    """The same story as carried by another outlet: another id, url and title, one word changed."""
    words = article["text"].split(" ")
    words[len(words) // 2 + edit] = "reportedly"
    slug = outlet.lower().replace(" ", "-")
    return {
        **article,
        "id": f"{article['id']}-{slug}",
        "title": f"{article.get('title') or 'Story'} ({outlet})",
        "url": f"https://{slug}.example/{article['id']}",
        "source": outlet,
        "published": "2024-01-02",
        "text": " ".join(words),
    }


def write_feed(path: Path) -> list[dict[str, Any]]:
    """N_ARTICLES real articles with near-duplicates spread over later (and the same) batches."""
    lines = SQUAD_ARTICLES.read_text(encoding="utf-8").splitlines()[:N_ARTICLES]
    articles = [json.loads(line) for line in lines]
    feed = list(articles)
    # (position in the feed, original, outlet, edit): targets in earlier batches and in the same one;
    # the last one comes just before its original, which is then the duplicate.
    for position, original, outlet, edit in [
        (12, 3, "Wire One", 0),
        (30, 3, "Wire Two", 1),
        (47, 20, "Wire One", 2),
        (45, 42, "Wire Three", 0),
        (70, 57, "Wire Two", 3),
        (90, 85, "Wire One", 1),
    ]:
        feed.insert(position, variant(articles[original], outlet, edit))
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in feed) + "\n", encoding="utf-8")
    return feed


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEWSDESK_HOME": str(home),
        "NEWSDESK_INDEX_BATCH_ARTICLES": str(BATCH),
        # The slowest embedder (fp32, one batch at a time): the default one indexes these 94 articles
        # in about two seconds, before the later kills could land. Crash safety is the write path's.
        "NEWSDESK_EMBEDDING_BACKEND": "torch",
        "NEWSDESK_EMBEDDING_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }


def start_index(feed: Path, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsdesk.cli", "index", str(feed), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(db.parent),
        cwd=REPO_ROOT,
    )


def run_index(feed: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "index", str(feed), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment(db.parent),
        cwd=REPO_ROOT,
    )


def wait_for_progress(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, int]:
    """Read stderr until a progress line shows some but not all articles indexed."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if not ready:
            continue
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = PROGRESS.search(line)
        if match and 0 < int(match.group(1)) < int(match.group(2)):
            return int(match.group(1)), int(match.group(2))
    process.kill()
    raise AssertionError(f"no progress line part-way; stderr so far: {''.join(seen)[-2000:]}")


def dedup_records(db: Path) -> dict[str, tuple[str, str | None, bytes | None]]:
    with sqlite3.connect(db / "dedup.sqlite") as connection:
        rows = connection.execute("SELECT article_id, content_hash, duplicate_of, signature FROM articles")
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


def index_snapshot(db: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What must be identical between a clean run and an interrupted-then-completed one.

    Returns (comparable state, vectors by chunk id); vectors are compared with a tolerance because
    a resumed run embeds other batches (padding changes the last bits). Read each index folder only
    once per test process, after every writer has exited (Chroma clients are cached per path).
    """
    store = ChunkStore(db)
    got = store.collection.get(include=["documents", "metadatas", "embeddings"])
    metadatas = [dict(m) for m in got["metadatas"] or []]
    chunks = {
        i: (doc, meta) for i, doc, meta in zip(got["ids"], got["documents"] or [], metadatas, strict=True)
    }
    embeddings = got["embeddings"]
    assert embeddings is not None
    vectors = {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], embeddings, strict=True)}
    per_article = Counter(str(meta["article_id"]) for meta in metadatas)
    versions = {str(m["article_id"]): (m["content_hash"], m["n_chunks"]) for m in metadatas}
    for article_id, (content_hash, n_chunks) in versions.items():
        hashes = {m["content_hash"] for m in metadatas if m["article_id"] == article_id}
        assert hashes == {content_hash}, f"{article_id} holds chunks of several versions"
        assert per_article[article_id] == n_chunks, f"{article_id} has missing or extra chunks"
    # The nearest neighbours of a few stored vectors: the vector index answers, and agrees.
    probes = sorted(vectors)[:: max(1, len(vectors) // 5)]
    with store.reading() as view:
        neighbours = {p: [c.id for c in view.search(vectors[p], 3)][:1] for p in probes}
    state = {
        "chunk_ids": sorted(chunks),
        "chunks": chunks,
        "per_article": dict(per_article),
        "dedup": dedup_records(db),
        "neighbours": neighbours,
    }
    return state, vectors


def assert_same_index(db: Path, clean_db: Path, clean: tuple[dict[str, Any], dict[str, np.ndarray]]) -> None:
    state, vectors = index_snapshot(db)
    clean_state, clean_vectors = clean
    assert state["chunk_ids"] == clean_state["chunk_ids"]
    assert state["per_article"] == clean_state["per_article"]
    assert state["chunks"] == clean_state["chunks"]
    assert state["dedup"] == clean_state["dedup"]
    assert state["neighbours"] == {p: [p] for p in state["neighbours"]}
    for chunk_id, vector in vectors.items():
        assert np.allclose(vector, clean_vectors[chunk_id], atol=1e-3), chunk_id


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "articles.jsonl"
    write_feed(path)
    return path


@pytest.fixture(scope="module")
def clean(
    feed: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, tuple[dict[str, Any], dict[str, np.ndarray]]]:
    db = tmp_path_factory.mktemp("clean") / "index"
    result = run_index(feed, db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("duplicate: ") == 6
    snapshot = index_snapshot(db)
    state = snapshot[0]
    assert len(state["per_article"]) == N_ARTICLES  # the 6 near-duplicates are not indexed apart
    # Each duplicate is named in the also_in of the article kept in its place (the first one seen).
    also_in = [json.loads(m["also_in"]) for _, m in state["chunks"].values() if "also_in" in m]
    named = {d["article_id"] for entries in also_in for d in entries}
    duplicates = {i for i, (_, of, _) in state["dedup"].items() if of is not None}
    assert len(duplicates) == 6 and named == duplicates
    return db, snapshot


def test_sigkill_at_several_moments_then_a_rerun_gives_the_clean_index(
    feed: Path, clean: tuple[Path, tuple[dict[str, Any], dict[str, np.ndarray]]], tmp_path: Path
) -> None:
    db = tmp_path / "index"
    total = len(feed.read_text(encoding="utf-8").splitlines())
    for delay in (0.0, 0.9, 2.3):
        process = start_index(feed, db)
        wait_for_progress(process)
        time.sleep(delay)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
    done = len(dedup_records(db))
    assert 0 < done < total, f"kills should land part-way ({done} of {total} articles recorded)"

    result = run_index(feed, db)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    clean_db, snapshot = clean
    assert_same_index(db, clean_db, snapshot)

    again = run_index(feed, db)
    assert again.returncode == 0 and "(0 chunks written)" in again.stdout
    assert f"unchanged: {N_ARTICLES} article(s)" in again.stdout


def test_ctrl_c_stops_with_130_and_a_rerun_gives_the_clean_index(
    feed: Path, clean: tuple[Path, tuple[dict[str, Any], dict[str, np.ndarray]]], tmp_path: Path
) -> None:
    db = tmp_path / "index"
    process = start_index(feed, db)
    wait_for_progress(process)
    time.sleep(0.4)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "newsdesk: interrupted; run the same command again to finish" in stderr
    assert "Traceback" not in stderr

    result = run_index(feed, db)
    assert result.returncode == 0, result.stderr
    clean_db, snapshot = clean
    assert_same_index(db, clean_db, snapshot)
