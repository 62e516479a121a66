"""Near-duplicates: the same story from several outlets is stored once, naming every outlet.

Real indexer, real model, real Chroma in temp folders; the dedup file is the real SQLite file.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import newsdesk.index.dedup as dedup_module
import newsdesk.index.dedup.index as dedup_finder
from newsdesk.config import REPO_ROOT, Settings
from newsdesk.errors import DedupUnavailable, IndexUnavailable
from newsdesk.index.dedup import MIN_WORDS, DedupIndex, signature, similarity
from newsdesk.index.embed import Embedder
from newsdesk.index.indexer import Duplicate, IndexReport
from newsdesk.index.load import Article
from newsdesk.index.store import ChunkStore
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE
from tests.index.test_crash import assert_same_index, index_snapshot

_VOCABULARY = sorted(set(SEED_ARTICLE.read_text(encoding="utf-8").replace(".", " ").split()))


def story(seed: int, sentences: int = 14) -> str:
    """A distinct "article" of real words in whole sentences (about 170 words)."""
    rng = random.Random(seed)
    return " ".join(
        " ".join(rng.choice(_VOCABULARY) for _ in range(12)).capitalize() + "." for _ in range(sentences)
    )


def edited(text: str, *positions: int) -> str:
    """``text`` with the words at ``positions`` (from the middle) replaced: a light edit."""
    words = text.split(" ")
    for position in positions:
        words[len(words) // 2 + position] = "reportedly"
    return " ".join(words)


def article(article_id: str, text: str, source: str, published: str = "2024-03-01") -> Article:
    return Article(
        id=article_id,
        title=f"Headline {article_id}",
        text=text,
        url=f"https://{source.lower().replace(' ', '')}.example/{article_id}",
        published=published,
        source=source,
    )


STORY_A, STORY_B, STORY_C = story(1), story(2), story(3)
A = article("a", STORY_A, "Wire")
A_REUTERS = article("a-reuters", edited(STORY_A, 0), "Reuters", "2024-03-02")
A_AP = article("a-ap", edited(STORY_A, 3, -4), "AP", "2024-03-01")
B = article("b", STORY_B, "Gazette")
C = article("c", STORY_C, "Herald")


def chunks_by_article(store: ChunkStore) -> dict[str, list[dict[str, Any]]]:
    got = store.collection.get(include=["metadatas"])
    found: dict[str, list[dict[str, Any]]] = {}
    for meta in got["metadatas"] or []:
        found.setdefault(str(meta["article_id"]), []).append(dict(meta))
    return found


def also_in(store: ChunkStore, article_id: str) -> list[dict[str, str]] | None:
    values = {m.get("also_in") for m in chunks_by_article(store)[article_id]}
    assert len(values) == 1, "every chunk of an article names the same duplicates"
    value = values.pop()
    return None if value is None else json.loads(str(value))


@pytest.fixture
def desk_at(tmp_path: Path, embedder: Embedder) -> Callable[..., Newsdesk]:
    """A Newsdesk over an embedded index (default: tmp_path/index); each call is a fresh one, as a
    new process would be, sharing the session's model."""

    def make(folder: Path | None = None) -> Newsdesk:
        settings = Settings(db=folder or tmp_path / "index", home=tmp_path / "home")
        return Newsdesk(settings, embedder=embedder)

    return make


@pytest.fixture
def desk(desk_at: Callable[..., Newsdesk]) -> Newsdesk:
    return desk_at()


def jsonl(path: Path, *articles: Article) -> Path:
    path.write_text("\n".join(json.dumps(dataclasses.asdict(a)) for a in articles), encoding="utf-8")
    return path


@pytest.fixture
def forbid_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[Newsdesk], None]:
    """Make any embedding, chunk write, also_in update or new signature fail the test."""

    def forbid(desk: Newsdesk) -> None:
        def fail(*args: object, **kwargs: object) -> None:
            pytest.fail("wrote or computed something on a rerun")

        monkeypatch.setattr(desk.embedder, "encode", fail)
        monkeypatch.setattr(desk.store, "write_articles", fail)
        monkeypatch.setattr(desk.store, "delete_articles", fail)
        monkeypatch.setattr(desk.store, "set_also_in", fail)
        monkeypatch.setattr(dedup_finder, "signature", fail)

    return forbid


# ---- signatures ---------------------------------------------------------------------------------------


def test_light_edits_are_similar_and_other_stories_are_not() -> None:
    sig_a, sig_edit, sig_two_edits, sig_b = (
        signature(STORY_A),
        signature(edited(STORY_A, 0)),
        signature(edited(STORY_A, 3, -4)),
        signature(STORY_B),
    )
    assert sig_a is not None and sig_edit is not None and sig_two_edits is not None and sig_b is not None
    assert sig_a.dtype == np.uint32 and sig_a.shape == (128,)
    assert similarity(sig_a, signature(STORY_A)) == 1.0  # type: ignore[arg-type]
    assert similarity(sig_a, sig_edit) >= 0.85 and similarity(sig_a, sig_two_edits) >= 0.8
    assert similarity(sig_a, sig_b) < 0.2
    # Case and punctuation are not differences between outlets.
    assert similarity(sig_a, signature(STORY_A.upper().replace(".", " ;"))) == 1.0  # type: ignore[arg-type]


def test_texts_too_short_to_judge_have_no_signature() -> None:
    assert signature(" ".join(["word"] * (MIN_WORDS - 1))) is None
    assert signature("") is None


def test_signatures_are_the_same_in_another_process() -> None:
    """Persisted signatures are only useful if a new process computes the same ones (no salted hash)."""
    code = (
        "import sys; from newsdesk.index.dedup import signature; "
        "print(signature(sys.argv[1]).tobytes().hex())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, STORY_A], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    sig = signature(STORY_A)
    assert sig is not None and result.stdout.strip() == sig.tobytes().hex()


def test_minhash_of_many_articles_is_fast() -> None:
    texts = [story(seed, sentences=35) for seed in range(500)]  # about 420 words each
    started = time.perf_counter()
    for text in texts:
        signature(text)
    elapsed = time.perf_counter() - started
    # Measured about 0.25 ms per article on the 2-core dev box; embedding one costs about 200 ms.
    assert elapsed < 10, f"{elapsed:.1f} s for 500 articles"


# ---- one run, several runs ------------------------------------------------------------------------------


def test_near_duplicates_in_one_run_are_stored_once_naming_every_outlet(desk: Newsdesk) -> None:
    report = desk.indexer.index_articles([A, A_REUTERS, B, A_AP])
    assert report.added == ["a", "b"]
    assert [(d.article_id, d.of, d.new) for d in report.duplicates] == [
        ("a-reuters", "a", True),
        ("a-ap", "a", True),
    ]
    assert all(d.similarity is not None and d.similarity >= 0.8 for d in report.duplicates)
    assert str(report.duplicates[0]) == "a-reuters (duplicate of a)"
    stored = chunks_by_article(desk.store)
    assert set(stored) == {"a", "b"}
    assert report.chunks_written == sum(len(chunks) for chunks in stored.values())
    # Sorted by date, then outlet: AP (03-01) before Reuters (03-02).
    assert also_in(desk.store, "a") == [
        {
            "article_id": "a-ap",
            "title": "Headline a-ap",
            "source": "AP",
            "url": "https://ap.example/a-ap",
            "published": "2024-03-01",
        },
        {
            "article_id": "a-reuters",
            "title": "Headline a-reuters",
            "source": "Reuters",
            "url": "https://reuters.example/a-reuters",
            "published": "2024-03-02",
        },
    ]
    assert also_in(desk.store, "b") is None
    assert "duplicates 2 (2 new)" in report.summary()


def test_a_duplicate_arriving_in_a_later_run_is_found_from_the_stored_signatures(
    desk_at: Callable[..., Newsdesk], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk_at().indexer.index_articles([A, B])
    desk = desk_at()  # a new process, in effect: the LSH is rebuilt from dedup.sqlite
    computed: list[str] = []
    real_signature = dedup_module.signature
    monkeypatch.setattr(dedup_finder, "signature", lambda text: computed.append(text) or real_signature(text))
    monkeypatch.setattr(desk.embedder, "encode", lambda texts: pytest.fail("embedded a duplicate"))
    report = desk.indexer.index_articles([A_REUTERS])
    [duplicate] = report.duplicates
    assert (duplicate.article_id, duplicate.of, duplicate.new) == ("a-reuters", "a", True)
    assert computed == [A_REUTERS.text], "only the new article is hashed"
    assert not report.added and report.chunks_written == 0
    assert set(chunks_by_article(desk.store)) == {"a", "b"}
    assert [d["article_id"] for d in also_in(desk.store, "a") or []] == ["a-reuters"]


def test_rerunning_reports_the_duplicates_again_and_writes_nothing(
    desk_at: Callable[..., Newsdesk], forbid_writes: Callable[[Newsdesk], None]
) -> None:
    desk_at().indexer.index_articles([A, A_REUTERS, B])
    before = chunks_by_article(desk_at().store)
    desk = desk_at()
    forbid_writes(desk)
    report = desk.indexer.index_articles([A, A_REUTERS, B])
    assert report.unchanged == ["a", "b"] and not report.added and not report.updated
    assert report.duplicates == [Duplicate("a-reuters", "a", new=False)]
    assert "duplicates 1 (0 new)" in report.summary() and "(0 chunks written)" in report.summary()
    assert chunks_by_article(desk.store) == before


def test_a_duplicate_that_changes_into_another_story_is_indexed_and_leaves_also_in(
    desk: Newsdesk,
) -> None:
    desk.indexer.index_articles([A, A_REUTERS])
    rewritten = article("a-reuters", STORY_C, "Reuters")
    report = desk.indexer.index_articles([rewritten])
    assert report.added == ["a-reuters"] and not report.duplicates
    assert also_in(desk.store, "a") is None
    assert set(chunks_by_article(desk.store)) == {"a", "a-reuters"}


def test_a_kept_article_that_changes_still_names_its_duplicates(desk: Newsdesk) -> None:
    desk.indexer.index_articles([A, A_REUTERS])
    corrected = article("a", edited(STORY_A, 6), "Wire")
    report = desk.indexer.index_articles([corrected])
    assert report.updated == ["a"]
    assert {m["content_hash"] for m in chunks_by_article(desk.store)["a"]} == {corrected.content_hash}
    assert [d["article_id"] for d in also_in(desk.store, "a") or []] == ["a-reuters"]


def test_an_indexed_article_found_to_be_a_duplicate_loses_its_chunks(
    desk_at: Callable[..., Newsdesk],
) -> None:
    """An index made before deduplication (or with it off) is deduplicated by the next run."""
    old = desk_at()
    old.indexer.dedup = False
    old.indexer.index_articles([A, A_REUTERS, B])
    assert set(chunks_by_article(old.store)) == {"a", "a-reuters", "b"}
    report = desk_at().indexer.index_articles([A, A_REUTERS, B])
    assert report.unchanged == ["a", "b"] and [str(d) for d in report.duplicates] == [
        "a-reuters (duplicate of a)"
    ]
    store = desk_at().store
    assert set(chunks_by_article(store)) == {"a", "b"}
    assert [d["article_id"] for d in also_in(store, "a") or []] == ["a-reuters"]


def test_prune_removes_a_gone_duplicate_from_also_in(desk: Newsdesk, tmp_path: Path) -> None:
    feed = jsonl(tmp_path / "feed.jsonl", A, A_REUTERS, A_AP, B)
    desk.indexer.index_paths([feed])
    jsonl(feed, A, A_AP, B)
    report = desk.indexer.index_paths([feed], prune=True)
    assert report.removed == ["a-reuters"]
    assert [d["article_id"] for d in also_in(desk.store, "a") or []] == ["a-ap"]
    assert "a-reuters" not in DedupIndex(desk.indexer.dedup_path).article_ids()


def test_prune_of_a_kept_article_promotes_its_duplicate(desk: Newsdesk, tmp_path: Path) -> None:
    feed = jsonl(tmp_path / "feed.jsonl", A, A_REUTERS, B)
    desk.indexer.index_paths([feed])
    jsonl(feed, A_REUTERS, B)
    report = desk.indexer.index_paths([feed], prune=True)
    assert report.removed == ["a"] and report.added == ["a-reuters"] and not report.duplicates
    stored = chunks_by_article(desk.store)
    assert set(stored) == {"a-reuters", "b"} and also_in(desk.store, "a-reuters") is None


def test_a_corrupt_dedup_file_gives_a_clear_error_with_the_fix(desk: Newsdesk) -> None:
    desk.indexer.index_articles([B])
    desk.indexer.dedup_path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DedupUnavailable, match="delete it and index again") as caught:
        desk.indexer.index_articles([A])
    assert isinstance(caught.value, IndexUnavailable)  # so the CLI says it and exits 2


# ---- crash at any write ---------------------------------------------------------------------------------

FIRST_RUN = [A, B]
SECOND_RUN = [
    A_REUTERS,  # a new duplicate of an article of the first run
    C,
    article("c-ap", edited(STORY_C, 1), "AP"),  # a duplicate of an article of this run, same batch
    article("b", edited(STORY_B, 5), "Gazette"),  # a kept article, changed
    article("d", story(4), "Courier"),
    A_AP,
    article("c-afp", edited(STORY_C, -2), "AFP"),  # a duplicate in a later batch
]


class Crash(Exception):
    pass


@pytest.fixture
def crash_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int | None], list[str]]]:
    """``arm(n)``: crash just before the n-th write of any kind; returns the log of writes seen."""
    log: list[str] = []
    state: dict[str, int | None] = {"at": None}

    def guard(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            log.append(name)
            if state["at"] is not None and len(log) >= state["at"]:
                raise Crash(name)
            return real(*args, **kwargs)

        return wrapper

    for name in ("write_articles", "delete_articles", "set_also_in"):
        monkeypatch.setattr(ChunkStore, name, guard(name, getattr(ChunkStore, name)))
    monkeypatch.setattr(DedupIndex, "commit", guard("commit", DedupIndex.commit))

    def arm(at: int | None) -> list[str]:
        log.clear()
        state["at"] = at
        return log

    yield arm


def test_a_crash_before_any_write_then_a_rerun_gives_the_clean_index(
    desk_at: Callable[..., Newsdesk],
    tmp_path: Path,
    crash_points: Callable[[int | None], list[str]],
) -> None:
    def batched(folder: Path) -> Newsdesk:
        desk = desk_at(folder)
        desk.indexer.batch_articles = 3
        return desk

    crash_points(None)
    clean_db = tmp_path / "clean"
    batched(clean_db).indexer.index_articles(FIRST_RUN)
    writes = crash_points(None)
    clean_report = batched(clean_db).indexer.index_articles(SECOND_RUN)
    steps = list(writes)
    assert {"write_articles", "set_also_in", "commit"} <= set(steps)
    clean = index_snapshot(clean_db)
    assert len(clean_report.duplicates) == 4

    for at in range(1, len(steps) + 1):
        db = tmp_path / f"crash-{at}"
        crash_points(None)
        batched(db).indexer.index_articles(FIRST_RUN)
        crash_points(at)
        with pytest.raises(Crash):
            batched(db).indexer.index_articles(SECOND_RUN)
        crash_points(None)
        report = batched(db).indexer.index_articles(SECOND_RUN)
        assert isinstance(report, IndexReport)
        assert_same_index(db, clean_db, clean)
        assert sorted(d.article_id for d in report.duplicates) == sorted(
            d.article_id for d in clean_report.duplicates
        ), f"crash before write {at} ({steps[at - 1]})"


def test_duplicates_are_found_with_a_chroma_server_too(make_desk: Callable[..., Newsdesk]) -> None:
    """Runs against the embedded store and a real Chroma server (the ``backend`` fixture)."""
    collection = f"dedup-{uuid.uuid4().hex[:8]}"
    make_desk(collection=collection).indexer.index_articles([A, B])
    desk = make_desk(collection=collection)
    report = desk.indexer.index_articles([A_REUTERS, A])
    assert [str(d) for d in report.duplicates] == ["a-reuters (duplicate of a)"]
    assert report.unchanged == ["a"] and set(chunks_by_article(desk.store)) == {"a", "b"}
    assert [d["article_id"] for d in also_in(desk.store, "a") or []] == ["a-reuters"]
    assert desk.indexer.dedup_path.name.startswith("dedup")


# ---- more than one machine ------------------------------------------------------------------------------


def server_desk(chroma_url: str, collection: str, machine: Path, embedder: Embedder) -> Newsdesk:
    """A Newsdesk as on another machine: its own home and index folder, the one Chroma server."""
    settings = Settings(
        db=machine / "index", home=machine / "home", chroma_url=chroma_url, collection=collection
    )
    return Newsdesk(settings, embedder=embedder)


def test_jobs_on_two_machines_find_each_others_duplicates_through_the_server(
    chroma_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    collection = f"machines-{uuid.uuid4().hex[:8]}"
    first = server_desk(chroma_url, collection, tmp_path / "machine-1", embedder)
    first.indexer.index_articles([A, B])
    second = server_desk(chroma_url, collection, tmp_path / "machine-2", embedder)
    report = second.indexer.index_articles([A_REUTERS, C])
    assert [str(d) for d in report.duplicates] == ["a-reuters (duplicate of a)"]
    assert report.added == ["c"]
    assert set(chunks_by_article(second.store)) == {"a", "b", "c"}
    assert [d["article_id"] for d in also_in(second.store, "a") or []] == ["a-reuters"]
    # The signatures live on the server, not in either machine's folders.
    assert not list(tmp_path.rglob("dedup*.sqlite"))
    # Back on the first machine, a rerun of everything knows every record: it writes nothing new.
    rerun = first.indexer.index_articles([A, B, A_REUTERS, C])
    assert rerun.unchanged == ["a", "b", "c"] and rerun.duplicates == [Duplicate("a-reuters", "a", new=False)]


@pytest.fixture
def a_on_server(chroma_url: str, tmp_path: Path, embedder: Embedder) -> Newsdesk:
    """A fresh collection on the server with article ``a`` indexed (one dedup record)."""
    desk = server_desk(chroma_url, f"side-{uuid.uuid4().hex[:8]}", tmp_path, embedder)
    desk.indexer.index_articles([A])
    assert desk.store.dedup_collection().count() == 1
    return desk


def test_server_signatures_made_another_way_are_forgotten_and_recomputed(a_on_server: Newsdesk) -> None:
    desk = a_on_server
    side = desk.store.dedup_collection()
    side.modify(metadata={**(side.metadata or {}), "newsdesk_dedup_num_perm": "64"})
    assert len(DedupIndex(dedup_module.ServerRecords(desk.store.dedup_collection()))) == 0
    assert desk.store.dedup_collection().count() == 0
    report = desk.indexer.index_articles([A, A_AP])  # a's record is recomputed, then a-ap matches it
    assert report.unchanged == ["a"] and [d.article_id for d in report.duplicates] == ["a-ap"]
    assert len(DedupIndex(dedup_module.ServerRecords(desk.store.dedup_collection()))) == 2  # kept now


def test_an_unreadable_server_signature_gives_a_clear_error_with_the_fix(a_on_server: Newsdesk) -> None:
    desk = a_on_server
    desk.store.dedup_collection().update(ids=["a"], metadatas=[{"signature": "AAAA"}])  # 3 bytes, not 512
    with pytest.raises(DedupUnavailable, match="delete that collection and index again") as caught:
        desk.indexer.index_articles([A])
    assert f"{desk.store.collection_name}-dedup" in str(caught.value)


# ---- --prune and near-duplicates in other files: the story is never lost ----


def origins_of_duplicates(store: ChunkStore, article_id: str) -> dict[str, str] | None:
    values = {m.get("also_in_origins") for m in chunks_by_article(store)[article_id]}
    assert len(values) == 1
    value = values.pop()
    return None if value is None else json.loads(str(value))


def test_duplicates_record_their_files_and_a_gone_one_is_pruned_from_its_own_file(
    desk: Newsdesk, tmp_path: Path
) -> None:
    ours, theirs = jsonl(tmp_path / "ours.jsonl", A, B), jsonl(tmp_path / "theirs.jsonl", A_REUTERS, A_AP)
    desk.indexer.index_paths([ours])
    desk.indexer.index_paths([theirs])
    assert origins_of_duplicates(desk.store, "a") == {
        "a-ap": str(theirs.resolve()),
        "a-reuters": str(theirs.resolve()),
    }
    jsonl(theirs, A_AP)
    report = desk.indexer.index_paths([theirs], prune=True)
    assert report.removed == ["a-reuters"] and report.elsewhere == 2
    assert [d["article_id"] for d in also_in(desk.store, "a") or []] == ["a-ap"]
    assert origins_of_duplicates(desk.store, "a") == {"a-ap": str(theirs.resolve())}


def test_pruning_a_kept_article_reads_its_duplicate_again_from_the_duplicates_file(
    desk: Newsdesk, tmp_path: Path
) -> None:
    ours, theirs = jsonl(tmp_path / "ours.jsonl", A, B), jsonl(tmp_path / "theirs.jsonl", A_REUTERS)
    desk.indexer.index_paths([ours, theirs])
    jsonl(ours, B)
    report = desk.indexer.index_paths([ours], prune=True)
    assert report.removed == ["a"] and [str(d) for d in report.promoted] == ["a-reuters (duplicate of a)"]
    assert report.added == ["a-reuters"]
    assert set(chunks_by_article(desk.store)) == {"a-reuters", "b"}
    assert also_in(desk.store, "a-reuters") is None
    assert {m["origin"] for m in chunks_by_article(desk.store)["a-reuters"]} == {str(theirs.resolve())}


def test_a_kept_article_whose_duplicate_cannot_be_read_again_is_kept(desk: Newsdesk, tmp_path: Path) -> None:
    ours, theirs = jsonl(tmp_path / "ours.jsonl", A, B), jsonl(tmp_path / "theirs.jsonl", A_REUTERS)
    desk.indexer.index_paths([ours, theirs])
    theirs.unlink()
    jsonl(ours, B)
    report = desk.indexer.index_paths([ours], prune=True)
    assert report.removed == [] and [str(k) for k in report.kept] == [
        f"a (holds the story of its near-duplicate a-reuters, and {theirs.resolve()} no longer holds it)"
    ]
    assert set(chunks_by_article(desk.store)) == {"a", "b"}
