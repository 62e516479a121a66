"""Bad input never stops a run: each bad file (or line) is reported by name (and line), the rest is
indexed. A corrupted or foreign index folder gives a clear error with the fix, never a traceback.

Real indexer, real model, real Chroma in temp folders; the CLI as a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from newsdesk.config import REPO_ROOT, Settings
from newsdesk.errors import IndexUnavailable
from newsdesk.index.embed import Embedder
from newsdesk.index.load import MAX_FILE_BYTES
from newsdesk.index.store import ChunkStore
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE, SEEDS

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" * 20


@pytest.fixture
def desk(tmp_path: Path, embedder: Embedder) -> Newsdesk:
    return Newsdesk(Settings(db=tmp_path / "index", home=tmp_path / "home"), embedder=embedder)


def newsdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env={**os.environ},
    )


def stored_texts(store: ChunkStore) -> dict[str, str]:
    got = store.collection.get(include=["documents", "metadatas"])
    texts: dict[str, str] = {}
    for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
        key = str(meta["article_id"])
        texts[key] = texts.get(key, "") + str(doc)
    return texts


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (and would take ``size`` of memory to read)."""
    with path.open("wb") as handle:
        handle.write(b"Headline\nThe first line of an enormous file.\n")
        handle.truncate(size)
    return path


def test_every_kind_of_bad_file_is_reported_by_name_and_the_rest_is_indexed(
    desk: Newsdesk, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(
        "Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8"
    )
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_bytes(b"  \n\n\t\n")
    (docs / "image.txt").write_bytes(PNG)
    sparse_file(docs / "huge.txt", MAX_FILE_BYTES + 1024 * 1024)
    (docs / "windows.txt").write_bytes(
        "Caf\u00e9 reopens\nThe caf\u00e9 \u201creopened\u201d on Monday \u2014 at last.".encode("cp1252")
    )
    (docs / "latin1.md").write_bytes(
        "# Se\u00f1or Mu\u00f1oz\n\nEl se\u00f1or Mu\u00f1oz lleg\u00f3 a Bogot\u00e1 el lunes.".encode(
            "latin-1"
        )
    )
    (docs / "garbage.txt").write_bytes(bytes(range(1, 256)) * 40)
    (docs / "notes.pdf").write_bytes(b"%PDF-1.7\n")
    lines = [
        json.dumps({"id": "j1", "text": "The bridge closed for repairs in the spring."}),
        '{"id": "j2", "text": "cut off in the middle',
        json.dumps(["a", "list"]),
        json.dumps({"id": "j4", "title": "No text"}),
        json.dumps({"id": "j5", "text": 42}),
        "",
        json.dumps({"id": "j7", "text": "The ferry resumed service on Sunday."}),
    ]
    (docs / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")

    report = desk.indexer.index_paths([docs])

    assert sorted(str(p) for p in report.skipped) == sorted(
        [
            f"{docs / 'empty.txt'}: empty file",
            f"{docs / 'blank.md'}: empty file",
            f"{docs / 'image.txt'}: binary file (contains NUL bytes)",
            f"{docs / 'huge.txt'}: file too large (51 MB > 50 MB)",
            f"{docs / 'garbage.txt'}: cannot decode the text (unknown encoding)",
            f"{docs / 'notes.pdf'}: unsupported file type '.pdf'",
            f"{docs / 'feed.jsonl'}:2: broken JSON (Unterminated string starting at)",
            f"{docs / 'feed.jsonl'}:3: line is not a JSON object",
            f"{docs / 'feed.jsonl'}:4: missing or empty 'text'",
            f"{docs / 'feed.jsonl'}:5: missing or empty 'text'",
        ]
    )
    texts = stored_texts(desk.store)
    assert (
        sorted(report.added)
        == sorted(texts)
        == sorted(
            ["j1", "j7"]
            + [f"file://{(docs / name).resolve()}" for name in ("good.txt", "windows.txt", "latin1.md")]
        )
    )
    assert (
        "The caf\u00e9 \u201creopened\u201d on Monday \u2014 at last."
        in texts[f"file://{(docs / 'windows.txt').resolve()}"]
    )
    assert (
        "El se\u00f1or Mu\u00f1oz lleg\u00f3 a Bogot\u00e1"
        in texts[f"file://{(docs / 'latin1.md').resolve()}"]
    )


def test_a_huge_file_is_refused_quickly_without_being_read(desk: Newsdesk, tmp_path: Path) -> None:
    huge = sparse_file(tmp_path / "huge.jsonl", 200 * 1024 * 1024)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = desk.indexer.index_paths([huge])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 20 * 1024 * 1024, f"{peak / 1e6:.0f} MB allocated for a file that is refused"
    assert [str(p) for p in report.skipped] == [f"{huge}: file too large (200 MB > 50 MB)"]


def test_one_wrongly_encoded_jsonl_line_does_not_garble_the_others(desk: Newsdesk, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(
        json.dumps({"id": "utf8", "text": "Caf\u00e9 prices rose in Vienna."}, ensure_ascii=False).encode()
        + b"\n"
        + json.dumps({"id": "cp1252", "text": "Caf\u00e9 in Paris closed."}, ensure_ascii=False).encode(
            "cp1252"
        )
    )
    desk.indexer.index_paths([feed])
    texts = stored_texts(desk.store)
    assert texts["utf8"] == "Caf\u00e9 prices rose in Vienna."
    assert texts["cp1252"] == "Caf\u00e9 in Paris closed."


# ---- the index folder itself -------------------------------------------------------------------------


def assert_clear_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("newsdesk: ")
    for fragment in fragments:
        assert fragment in result.stderr


def test_garbage_in_the_chroma_database_is_a_clear_error_with_the_fix(desk: Newsdesk, tmp_path: Path) -> None:
    desk.indexer.index_paths([SEED_ARTICLE])
    db = desk.store.path
    with (db / "chroma.sqlite3").open("r+b") as handle:
        handle.write(os.urandom(4096))
    fresh = Newsdesk(Settings(db=db, home=tmp_path / "home"), embedder=desk.embedder)
    with pytest.raises(IndexUnavailable, match="move it away and re-index"):
        fresh.indexer.index_paths([SEED_ARTICLE])
    for command in (("index", str(SEEDS)), ("ask", "Who is visiting Beijing?")):
        result = newsdesk(*command, "--db", str(db))
        assert_clear_error(result, f"cannot open the index at {db}", "move it away and re-index")


def test_a_folder_of_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "letter.odt").write_bytes(b"PK...")
    result = newsdesk("index", str(SEEDS), "--db", str(documents))
    assert_clear_error(result, f"{documents} is not a Newsdesk index", "letter.odt", "--db")
    assert sorted(p.name for p in documents.iterdir()) == ["letter.odt"]


def test_a_corrupt_dedup_file_is_a_clear_error_with_the_fix(desk: Newsdesk) -> None:
    desk.indexer.index_paths([SEED_ARTICLE])
    desk.indexer.dedup_path.write_bytes(b"garbage " * 512)
    result = newsdesk("index", str(SEEDS), "--db", str(desk.store.path))
    assert_clear_error(result, "cannot read the duplicate index", "delete it and index again")


BUILD_BIG_INDEX = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from newsdesk.index.store import ChunkStore
    store = ChunkStore(Path(sys.argv[1]))
    rng = np.random.default_rng(0)
    for start in range(0, 1500, 500):
        ids = [f"c{i}" for i in range(start, start + 500)]
        store.collection.upsert(
            ids=ids,
            embeddings=rng.standard_normal((500, 384)).astype("float32"),
            documents=[f"text {i}" for i in ids],
            metadatas=[{"article_id": i, "content_hash": "h", "n_chunks": 1} for i in ids],
        )
    """
)


def test_a_corrupted_vector_segment_is_a_clear_error_with_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "index"
    subprocess.run([sys.executable, "-c", BUILD_BIG_INDEX, str(db)], check=True, cwd=REPO_ROOT)
    [header] = list(db.glob("*/header.bin"))  # Chroma persists the HNSW files past 1,000 vectors
    header.write_bytes(os.urandom(header.stat().st_size))
    for command in (("index", str(SEEDS)), ("ask", "Who is visiting Beijing?")):
        assert_clear_error(newsdesk(*command, "--db", str(db)), "move it away and re-index")


BUILD_FOREIGN_INDEX = textwrap.dedent(
    """
    import sys
    import chromadb
    import numpy as np
    client = chromadb.PersistentClient(path=sys.argv[1])
    collection = client.get_or_create_collection("newsdesk-chunks", embedding_function=None)
    collection.upsert(ids=["x"], embeddings=np.ones((1, 768), dtype="float32"), documents=["other tool"])
    """
)


def test_a_collection_made_by_another_tool_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "index"
    subprocess.run([sys.executable, "-c", BUILD_FOREIGN_INDEX, str(db)], check=True, cwd=REPO_ROOT)
    for command in (("index", str(SEEDS)), ("ask", "Who is visiting Beijing?")):
        assert_clear_error(newsdesk(*command, "--db", str(db)))


def test_the_index_folder_inside_the_articles_folder_is_not_read_as_articles(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\nThe harbour reopened on Friday.", encoding="utf-8")
    make: Callable[[], Newsdesk] = lambda: Newsdesk(  # noqa: E731
        Settings(db=docs / ".." / "docs" / "index", home=tmp_path / "home"), embedder=embedder
    )
    first = make().indexer.index_paths([docs])
    second = make().indexer.index_paths([docs])
    assert first.skipped == [] and second.skipped == [] and second.unchanged == first.added
