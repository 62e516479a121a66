"""Storing and indexing: real Chroma in a temp folder; re-indexing is idempotent and crash-safe."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from newsdesk.errors import IndexUnavailable
from newsdesk.index.chunk import Chunk, chunk_article
from newsdesk.index.embed import Embedder, OnnxEmbedder, default_model_path
from newsdesk.index.load import Article, load_paths
from newsdesk.index.store import ChunkStore, chunk_id
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE, SEEDS


def all_chunks(store: ChunkStore) -> dict[str, dict[str, object]]:
    got = store.collection.get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"] or [], strict=True))


def write_article(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def test_collection_uses_cosine_distance(make_desk: Callable[..., Newsdesk]) -> None:
    desk = make_desk()
    assert desk.store.collection.metadata["hnsw:space"] == "cosine"


def test_indexing_stores_every_chunk_with_citation_metadata(make_desk: Callable[..., Newsdesk]) -> None:
    desk = make_desk()
    report = desk.indexer.index_paths([SEED_ARTICLE])
    article = load_paths([SEED_ARTICLE]).articles[0]
    expected = chunk_article(article, desk.settings.chunk_max_chars, desk.settings.chunk_overlap_sentences)
    stored = all_chunks(desk.store)
    assert report.added == [article.id] and report.chunks_written == len(expected) == len(stored)
    for chunk in expected:
        meta = stored[chunk_id(article.id, article.content_hash, chunk.number)]
        assert meta["title"] == article.title and meta["url"] == SEED_ARTICLE.resolve().as_uri()
        assert (meta["start"], meta["end"], meta["chunk"]) == (chunk.start, chunk.end, chunk.number)
        assert {"published", "source", "article_id"} <= set(meta)


def test_second_run_embeds_nothing_and_writes_nothing(
    make_desk: Callable[..., Newsdesk], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = make_desk()
    desk.indexer.index_paths([SEED_ARTICLE])
    before = all_chunks(desk.store)

    def no_embedding(texts: list[str]) -> None:
        raise AssertionError(f"embedded {len(texts)} texts on an unchanged article")

    monkeypatch.setattr(desk.embedder, "encode", no_embedding)
    monkeypatch.setattr(desk.store, "write_articles", lambda *a: pytest.fail("wrote an unchanged article"))
    report = desk.indexer.index_paths([SEED_ARTICLE])
    assert report.unchanged == [report.unchanged[0]] and not report.added and not report.updated
    assert all_chunks(desk.store) == before


def test_a_changed_file_replaces_its_chunks(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> None:
    desk = make_desk()
    path = write_article(
        tmp_path, "story.txt", "Dam opens\nThe new dam opened on Monday. It cost ten million euros."
    )
    desk.indexer.index_paths([path])
    write_article(
        tmp_path, "story.txt", "Dam opens\nThe new dam opened on Tuesday. It cost twelve million euros."
    )
    report = desk.indexer.index_paths([path])
    assert len(report.updated) == 1
    texts = " ".join(desk.store.collection.get(include=["documents"])["documents"] or [])
    assert "Tuesday" in texts and "Monday" not in texts
    assert desk.store.count() == 1


def test_an_interrupted_write_is_completed_without_duplicates(
    make_desk: Callable[..., Newsdesk],
) -> None:
    clean = make_desk()
    clean.indexer.index_paths([SEED_ARTICLE])
    complete = all_chunks(clean.store)
    # Simulate a crash part-way through writing an article: only its first chunk reached the store.
    first_id = sorted(complete)[0]
    clean.store.collection.delete(ids=[i for i in complete if i != first_id])
    assert clean.store.count() == 1
    report = clean.indexer.index_paths([SEED_ARTICLE])
    assert len(report.updated) == 1
    assert all_chunks(clean.store) == complete


def test_stale_chunks_of_an_old_version_left_by_a_crash_are_removed(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    path = write_article(tmp_path, "s.txt", "Budget\nThe council approved the budget.")
    desk.indexer.index_paths([path])
    old = all_chunks(desk.store)
    write_article(tmp_path, "s.txt", "Budget\nThe council rejected the budget.")
    new_article = load_paths([path]).articles[0]
    chunks = chunk_article(new_article)
    # Crash after the new version was written but before the old one was deleted:
    desk.store.collection.upsert(
        ids=[chunk_id(new_article.id, new_article.content_hash, c.number) for c in chunks],
        embeddings=desk.embedder.encode([c.text for c in chunks]),
        documents=[c.text for c in chunks],
        metadatas=[{**next(iter(old.values())), "content_hash": new_article.content_hash}],  # type: ignore[list-item]
    )
    assert desk.store.count() == 2
    desk.indexer.index_paths([path])
    ids = list(all_chunks(desk.store))
    assert len(ids) == 1 and ids[0] not in old


def test_prune_removes_articles_whose_files_are_gone(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    a = write_article(tmp_path, "a.txt", "A\nAlpha happened today in the city.")
    b = write_article(tmp_path, "b.txt", "B\nBeta happened yesterday in the town.")
    desk.indexer.index_paths([tmp_path])
    b.unlink()
    report = desk.indexer.index_paths([tmp_path], prune=True)
    assert report.removed == [f"file://{b.resolve()}"]
    assert {m["article_id"] for m in all_chunks(desk.store).values()} == {f"file://{a.resolve()}"}


def test_without_prune_nothing_is_removed(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> None:
    desk = make_desk()
    write_article(tmp_path, "a.txt", "A\nAlpha happened today in the city.")
    desk.indexer.index_paths([tmp_path])
    report = desk.indexer.index_paths([SEED_ARTICLE])
    assert report.removed == [] and len({m["article_id"] for m in all_chunks(desk.store).values()}) == 2


def test_broken_files_are_reported_and_the_rest_indexed(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    write_article(tmp_path, "good.txt", "Good\nThe bridge reopened after repairs.")
    (tmp_path / "bad.jsonl").write_text('{"text": "Fine line about trains."}\n{broken\n', encoding="utf-8")
    (tmp_path / "zero.txt").write_bytes(b"")
    report = desk.indexer.index_paths([tmp_path])
    assert len(report.added) == 2
    assert sorted(str(p) for p in report.skipped) == [
        f"{tmp_path / 'bad.jsonl'}:2: broken JSON (Expecting property name enclosed in double quotes)",
        f"{tmp_path / 'zero.txt'}: empty file",
    ]


def test_an_index_path_that_is_a_file_gives_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-folder"
    bogus.write_text("x")
    with pytest.raises(IndexUnavailable, match="is a file, not a folder"):
        ChunkStore(bogus).count()


def test_an_index_remembers_its_embedding_model_and_refuses_another(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    desk.indexer.index_paths([SEED_ARTICLE])
    assert desk.store.collection.metadata["newsdesk_space"] == "all-MiniLM-L6-v2"
    # The int8 ONNX backend embeds into the same space: the same index serves it.
    onnx = make_desk(collection=desk.settings.collection, embedding_backend="onnx")
    onnx.embedder = OnnxEmbedder()
    assert onnx.store.count() == desk.store.count()
    # Another model folder (here the same weights under another name) is refused with the fix.
    other_model = tmp_path / "my-news-model"
    other_model.symlink_to(default_model_path(), target_is_directory=True)
    other = make_desk(collection=desk.settings.collection, embedding_model=other_model)
    other.embedder = Embedder(other_model)
    with pytest.raises(IndexUnavailable, match=r"'all-MiniLM-L6-v2'.*'local:my-news-model'.*--db"):
        other.store.count()


def test_the_next_batch_is_embedded_while_the_previous_one_is_written(
    make_desk: Callable[..., Newsdesk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing batch n waits until batch n+1's embedding has started: only overlap gets past."""
    desk = make_desk()
    desk.indexer.batch_articles = 1
    articles = [
        Article(id=f"a{n}", title=f"Story {n}", text=f"Story number {n} is about the harbour. " * 5)
        for n in range(3)
    ]
    started = {n: threading.Event() for n in range(len(articles))}
    events: list[str] = []
    real_encode, real_write = desk.embedder.encode, desk.store.write_articles

    def encode(texts: list[str]) -> np.ndarray:
        number = int(texts[0].split()[1])
        events.append(f"embed {number}")
        started[number].set()
        return real_encode(texts)

    def write_articles(items: list[tuple[Article, list[Chunk], np.ndarray]], new: set[str]) -> None:
        number = int(items[0][0].title.split()[1])
        if number + 1 in started:
            assert started[number + 1].wait(timeout=60), f"batch {number + 1} not embedded during write"
        events.append(f"write {number}")
        real_write(items, new=new)

    monkeypatch.setattr(desk.embedder, "encode", encode)
    monkeypatch.setattr(desk.store, "write_articles", write_articles)
    report = desk.indexer.index_articles(articles)
    assert events == ["embed 0", "embed 1", "write 0", "embed 2", "write 1", "write 2"]
    assert report.added == ["a0", "a1", "a2"]
    stored = {str(m["article_id"]) for m in all_chunks(desk.store).values()}
    assert stored == {"a0", "a1", "a2"}


# ---- --prune judges only the paths given, never a file that failed to read; --dry-run writes nothing ----


def feed(path: Path, *rows: dict[str, str] | str) -> Path:
    """A JSONL file; a str row is written as is (a broken line)."""
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows), encoding="utf-8")
    return path


def row(article_id: str, text: str, source: str = "Wire") -> dict[str, str]:
    return {
        "id": article_id,
        "title": article_id,
        "text": text,
        "source": source,
        "url": f"https://w/{article_id}",
    }


A1 = row("a1", "The harbour reopened on Friday after the storm.")
A2 = row("a2", "The bridge closed for repairs in the spring.")
A3 = row("a3", "The ferry resumed service on Sunday morning.")


def stored_ids(desk: Newsdesk) -> set[str]:
    return {str(m["article_id"]) for m in all_chunks(desk.store).values()}


def test_every_chunk_records_the_canonical_file_it_came_from(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    news = feed(tmp_path / "news.jsonl", A1)
    (tmp_path / "link.jsonl").symlink_to(news)
    desk.indexer.index_paths([tmp_path / "link.jsonl", SEED_ARTICLE])
    origins = {str(m["article_id"]): m["origin"] for m in all_chunks(desk.store).values()}
    assert origins == {
        "a1": str(news.resolve()),
        f"file://{SEED_ARTICLE.resolve()}": str(SEED_ARTICLE.resolve()),
    }


def test_prune_judges_only_articles_from_the_paths_given(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    news = feed(tmp_path / "news.jsonl", A1, A2)
    desk.indexer.index_paths([SEEDS])
    desk.indexer.index_paths([news])
    feed(news, A1)
    report = desk.indexer.index_paths([news], prune=True)
    assert report.removed == ["a2"] and report.elsewhere == 1 and report.unchanged == ["a1"]
    assert stored_ids(desk) == {"a1", f"file://{SEED_ARTICLE.resolve()}"}


def test_a_file_with_a_broken_line_keeps_every_article_it_held(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    news = feed(tmp_path / "news.jsonl", A1, A2, A3)
    desk.indexer.index_paths([news])
    feed(news, A1, '{"id": "a2", "text": "The bridge', A3)  # a2's line broke; a3 is fine
    report = desk.indexer.index_paths([news], prune=True)
    assert report.removed == [] and [k.article_id for k in report.kept] == ["a2"]
    assert str(report.kept[0]) == f"a2 ({news.resolve()} could not be read in full in this run)"
    feed(news, '{"broken', A3)  # a1 gone, a2 still broken: the file's problem protects a1 too
    report = desk.indexer.index_paths([news], prune=True)
    assert report.removed == [] and sorted(k.article_id for k in report.kept) == ["a1", "a2"]
    assert stored_ids(desk) == {"a1", "a2", "a3"}
    feed(news, A3)  # read in full again: now both go
    assert desk.indexer.index_paths([news], prune=True).removed == ["a1", "a2"]


def test_a_folder_that_cannot_be_read_keeps_its_articles(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    docs = tmp_path / "docs"
    docs.mkdir()
    feed(docs / "news.jsonl", A1)
    desk.indexer.index_paths([docs])
    moved = tmp_path / "moved"
    docs.rename(moved)  # a mistyped or unmounted path reads as missing: nothing is pruned
    report = desk.indexer.index_paths([docs], prune=True)
    assert report.removed == [] and [str(k) for k in report.kept] == [
        f"a1 ({docs} could not be read in full in this run)"
    ]
    assert [str(p) for p in report.skipped] == [f"{docs}: no such file or folder"]


def test_dry_run_reports_and_writes_nothing(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> None:
    desk = make_desk()
    news = feed(tmp_path / "news.jsonl", A1, A2)
    preview = desk.indexer.index_paths([news], prune=True, dry_run=True)
    assert preview.added == ["a1", "a2"] and not desk.store.exists()  # not even an empty index is made
    assert not (tmp_path / "index").exists()
    desk.indexer.index_paths([news])
    before = all_chunks(desk.store)
    feed(news, {**A1, "text": "The harbour reopened on Saturday."}, A3)
    report = desk.indexer.index_paths([news], prune=True, dry_run=True)
    assert (report.added, report.updated, report.removed) == (["a3"], ["a1"], ["a2"])
    assert report.dry_run and report.chunks_written == 0
    assert report.summary().startswith("dry run, nothing written: would have added 1, updated 1")
    assert all_chunks(desk.store) == before
    assert desk.indexer.index_paths([news], prune=True).removed == ["a2"]


def test_articles_without_a_recorded_origin_are_never_pruned_until_read_again(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    news = feed(tmp_path / "news.jsonl", A1, A2)
    desk.indexer.index_paths([news])
    chunks = all_chunks(desk.store)  # as an index made before origins were recorded
    desk.store.collection.update(ids=list(chunks), metadatas=[{"origin": None} for _ in chunks])  # type: ignore[misc]
    feed(news, A1)
    report = desk.indexer.index_paths([news], prune=True)
    assert report.removed == [] and report.without_origin == ["a2"] and report.unchanged == ["a1"]
    assert {str(m["article_id"]): m.get("origin") for m in all_chunks(desk.store).values()} == {
        "a1": str(news.resolve()),  # recorded by this run, without rewriting the chunks
        "a2": None,
    }


def test_an_article_moved_to_another_file_is_judged_by_the_file_it_is_in_now(
    make_desk: Callable[..., Newsdesk], tmp_path: Path
) -> None:
    desk = make_desk()
    old, new = feed(tmp_path / "old.jsonl", A1, A2), tmp_path / "new.jsonl"
    desk.indexer.index_paths([old])
    feed(new, A2)
    feed(old, A1)
    assert desk.indexer.index_paths([new]).unchanged == ["a2"]
    assert desk.indexer.index_paths([old], prune=True).removed == []
    assert stored_ids(desk) == {"a1", "a2"}
