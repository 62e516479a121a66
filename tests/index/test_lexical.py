"""The lexical (BM25) side: a SQLite FTS5 mirror of Chroma, kept in line incrementally."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from newsdesk.index.filters import Filters
from newsdesk.index.lexical import LexicalIndex, match_expression
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE

META = {"article_id": "a", "title": "Harbour news", "source": "Daily Wire", "published_day": 20231005}


def test_search_ranks_by_bm25_and_returns_metadata(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.upsert(
        ["1", "2", "3"],
        [
            "The harbour reopened after the storm.",
            "The bridge closed.",
            "Storm warnings for the harbour harbour.",
        ],
        [
            META,
            {**META, "article_id": "b", "title": "Bridge"},
            {**META, "article_id": "c", "source": "Other"},
        ],
    )
    hits = index.search("When did the harbour reopen?", 10)
    assert [h.id for h in hits][:1] == ["1"]
    assert {h.id for h in hits} == {"1", "3"}
    assert hits[0].metadata["title"] == "Harbour news" and hits[0].bm25 > 0


def test_titles_and_outlets_take_part_in_matching(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.upsert(["1"], ["Workers returned on Monday."], [{**META, "title": "Port strike ends"}])
    assert [h.id for h in index.search("port strike", 5)] == ["1"]
    assert [h.id for h in index.search("Daily Wire", 5)] == ["1"]


def test_filters_restrict_outlets_and_dates(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.upsert(
        ["1", "2"],
        ["Election results came in.", "Election results were contested."],
        [META, {**META, "article_id": "b", "source": "Gazette", "published_day": 20231120}],
    )
    assert [h.id for h in index.search("election", 5, Filters(sources=("Gazette",)))] == ["2"]
    assert [h.id for h in index.search("election", 5, Filters(until_day=20231031))] == ["1"]
    assert index.sources() == ["Daily Wire", "Gazette"] and index.newest_day() == 20231120


def test_query_syntax_from_users_is_quoted_not_executed(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.upsert(["1"], ["A story about NEAR and OR operators."], [META])
    assert match_expression('x" OR NEAR(a b) -- *') == '"x" OR "near" OR "b"'
    assert index.search('NEAR" AND (', 5)[0].id == "1"
    assert index.search("???", 5) == []


def test_on_a_large_index_words_in_most_chunks_are_left_out_of_the_query(tmp_path: Path) -> None:
    texts = [f"Council meeting number {i} discussed the budget." for i in range(30)]
    texts.append("The council approved the zyxolite mine.")
    ids = [str(i) for i in range(len(texts))]
    large = LexicalIndex(tmp_path / "lex.sqlite", max_term_share=0.1, prune_from=20)
    large.upsert(ids, texts, [META] * len(texts))
    question = "Did the council approve the zyxolite mine budget?"
    # "council" and "budget" are in nearly every chunk: only the rare words are looked up ...
    assert large.expression(question) == '"approve" OR "zyxolite" OR "mine"'
    assert [h.id for h in large.search(question, 3)] == ["30"]
    # ... and when every word is common, the rarest one still is.
    assert large.expression("council budget") == '"budget"'  # in 30 chunks, council in 31
    # Under ``prune_from`` chunks (and with a share of 1) every word counts.
    small = LexicalIndex(tmp_path / "lex.sqlite", max_term_share=0.1, prune_from=1000)
    assert small.expression(question) == match_expression(question)
    every = LexicalIndex(tmp_path / "lex.sqlite", max_term_share=1.0, prune_from=20)
    assert every.expression(question) == match_expression(question)


def test_mirror_follows_chroma_and_repairs_a_missed_write(make_desk: Callable[..., Newsdesk]) -> None:
    desk = make_desk()
    desk.indexer.index_paths([SEED_ARTICLE])
    lexical = desk.store.lexical
    with desk.store.reading() as view:
        truth = view.all_ids()
    assert lexical is not None and lexical.ids() == truth
    # A crash between the Chroma write and the lexical write leaves the mirror behind:
    lexical.delete(list(lexical.ids())[:2])
    lexical.upsert(["ghost"], ["A chunk Chroma never had."], [META])
    reader = make_desk(collection=desk.settings.collection, chroma_url=desk.settings.chroma_url)
    assert reader.repair_mirror()  # a reader with no indexing run going repairs it, under the lock
    assert reader.store.lexical is not None and reader.store.lexical.ids() == truth
    # ... and so does the next indexing run, before it writes anything.
    lexical.delete(list(lexical.ids())[:1])
    desk.indexer.index_paths([SEED_ARTICLE])
    assert lexical.ids() == truth


class _WriterDuringSync:
    """A vector store whose id listing races a writer that adds a chunk to both stores meanwhile."""

    def __init__(self, mirror: LexicalIndex) -> None:
        self.mirror = mirror
        self.ids = {"1", "2"}

    def all_ids(self) -> set[str]:
        listed = set(self.ids)
        self.ids.add("new")  # written to Chroma, then to the mirror, after the listing above
        self.mirror.upsert(["new"], ["A chunk written meanwhile."], [META])
        return listed

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
        return [(i, f"text {i}", META) for i in ids if i in self.ids]


def test_a_sync_beside_a_writer_never_drops_what_the_writer_just_wrote(tmp_path: Path) -> None:
    mirror = LexicalIndex(tmp_path / "lex.sqlite")
    mirror.upsert(["1", "gone"], ["one", "an old chunk"], [META, META])
    assert mirror.sync(_WriterDuringSync(mirror)) == (1, 1)  # "2" added, "gone" removed
    assert mirror.ids() == {"1", "2", "new"}


def test_without_hybrid_there_is_no_lexical_file(make_desk: Callable[..., Newsdesk]) -> None:
    desk = make_desk(hybrid=False)
    desk.indexer.index_paths([SEED_ARTICLE])
    assert desk.store.lexical is None
    assert not (desk.settings.index_dir / "lexical.sqlite").exists()
