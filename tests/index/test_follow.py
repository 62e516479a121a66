"""A serving process and an indexing run on the same embedded index: views, refreshes, replaced chunks.

The "other process" here is a second store on the same folder: it opens its own Chroma system, as
another process would, so this process's view goes stale exactly as a server's does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from newsdesk.index.follow import IndexFollower
from newsdesk.index.load import Article
from newsdesk.index.store import ChunkStore
from newsdesk.wiring import Newsdesk

QUESTION = "What did the harbour authority decide about the ferry?"


def story(version: int) -> Article:
    return Article(
        id="harbour-story",
        title="Harbour ferry decision",
        text=(
            f"The harbour authority decided on Monday to run the ferry {version} times a day. "
            f"The ferry carried {version * 1000} passengers last year, the authority said. "
            "Local shops welcomed the decision."
        ),
        source="Harbour Times",
        published="2024-03-04",
    )


@pytest.fixture
def reader_and_writer(make_desk: Callable[..., Newsdesk], backend: str) -> tuple[Newsdesk, Newsdesk]:
    if backend == "server":
        pytest.skip("a Chroma server is always current: views only go stale in the embedded store")
    writer = make_desk()
    writer.indexer.index_articles([story(1)])
    reader = make_desk()
    reader.qa.ask(QUESTION)  # opens the reader's view, as a running app has
    return reader, writer


def test_a_question_on_a_stale_view_gets_one_version_of_a_replaced_article(
    reader_and_writer: tuple[Newsdesk, Newsdesk],
) -> None:
    reader, writer = reader_and_writer
    writer.indexer.index_articles([story(2)])  # new chunks in, old ones deleted: the reader's view is stale
    documents = reader.qa.retriever.invoke(QUESTION)  # no error for chunks deleted under the view
    versions = {d.metadata["content_hash"] for d in documents if d.metadata["article_id"] == "harbour-story"}
    assert len(versions) <= 1
    answer = reader.qa.ask(QUESTION)
    # The new version is found at once (through BM25, embedded on the fly), before any refresh.
    assert "2 times a day" in " ".join(c.quote for c in answer.citations), answer


def test_the_follower_switches_to_a_fresh_view_only_after_another_process_writes(
    reader_and_writer: tuple[Newsdesk, Newsdesk],
) -> None:
    reader, writer = reader_and_writer
    follower = IndexFollower(reader.store)
    seen = reader.store.data_version()
    generation = reader.store.generation
    assert follower.check(seen) == seen and reader.store.generation == generation  # nothing written
    writer.indexer.index_articles([story(3)])
    seen = follower.check(seen)
    assert reader.store.generation == generation + 1
    assert follower.check(seen) == seen and reader.store.generation == generation + 1  # once per write
    answer = reader.qa.ask(QUESTION)
    assert "3 times a day" in " ".join(c.quote for c in answer.citations)


def test_a_question_keeps_its_view_to_the_end_and_the_old_view_closes_after_it(
    reader_and_writer: tuple[Newsdesk, Newsdesk],
) -> None:
    reader, _ = reader_and_writer
    store = reader.store
    with store.reading() as old:
        fresh = store.refresh_view()
        assert fresh is not old and store.view() is fresh
        assert old.count() == fresh.count()  # still readable by the question that holds it
    assert old.enter() is False  # retired and closed: new questions take the fresh view
    with store.reading() as current:
        assert current is fresh


def test_an_unusable_refresh_leaves_the_current_view_in_place(
    reader_and_writer: tuple[Newsdesk, Newsdesk], tmp_path: Path
) -> None:
    reader, _ = reader_and_writer
    store = reader.store
    current = store.view()
    store.path, real = tmp_path / "a-file", store.path
    store.path.write_text("not an index")
    try:
        with pytest.raises(Exception, match="is a file"):
            store.refresh_view()
    finally:
        store.path = real
    assert store.view() is current and reader.qa.ask(QUESTION).citations


def test_views_opened_at_once_by_two_stores_each_stop_only_their_own_system(
    reader_and_writer: tuple[Newsdesk, Newsdesk],
) -> None:
    """A server's watcher refreshes its view while a request indexes through another store of the
    same folder: retiring one view must never stop the system another view reads through."""
    reader, writer = reader_and_writer
    stores = (reader.store, writer.store)
    chunks = writer.store.count()
    errors: list[BaseException] = []

    def refresh(store: ChunkStore) -> None:
        try:
            for _ in range(30):
                store.refresh_view()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=refresh, args=(store,)) for store in stores for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for store in stores:
        assert store.count() == chunks  # the current view reads: its system was not stopped by another's
