"""Hard filters (index/filters.py): outlets in any case and through ``also_in``, days; Chroma's
``where``, the mirror's SQL and the Python predicate keep exactly the same chunks.

The translations are checked against a real Chroma collection and a real SQLite mirror; outlet
filters end to end over a real index holding a near-duplicate pair (embedded and a real server).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest

from newsdesk.index.filters import Filters, OutletCatalog, UnknownOutlet
from newsdesk.index.lexical import LexicalIndex
from newsdesk.reading.outlets import outlet_key
from newsdesk.wiring import Newsdesk


def also_in(*outlets: tuple[str, str]) -> str:
    return json.dumps(
        [{"article_id": a, "title": "", "source": s, "url": "", "published": ""} for a, s in outlets]
    )


CHUNKS: dict[str, dict[str, Any]] = {
    "c1": {
        "article_id": "wire",
        "source": "Reuters",
        "published_day": 20231005,
        "also_in": also_in(("ap", "AP")),
    },
    "c2": {
        "article_id": "wire",
        "source": "Reuters",
        "published_day": 20231005,
        "also_in": also_in(("ap", "AP")),
    },
    "c3": {"article_id": "tc", "source": "TechCrunch", "published_day": 20231110},
    "c4": {"article_id": "tc-lower", "source": "techcrunch", "published_day": 0},
    "c5": {"article_id": "verge", "source": "The Verge", "published_day": 20231201},
    "c6": {"article_id": "blog", "source": "", "published_day": 20230101},
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, LexicalIndex, OutletCatalog]:
    folder = tmp_path_factory.mktemp("filters")
    collection = chromadb.PersistentClient(path=str(folder / "chroma")).get_or_create_collection(
        "chunks", embedding_function=None
    )
    ids = list(CHUNKS)
    collection.upsert(
        ids=ids,
        embeddings=np.ones((len(ids), 4), dtype=np.float32),
        documents=["news" for _ in ids],
        metadatas=[{k: v for k, v in m.items() if v is not None} for m in CHUNKS.values()],
    )
    lexical = LexicalIndex(folder / "lexical.sqlite")
    lexical.upsert(ids, ["news" for _ in ids], [CHUNKS[i] for i in ids])
    return collection, lexical, lexical.outlets()


def kept_by_each_translation(filters: Filters, stores: tuple[Any, LexicalIndex, OutletCatalog]) -> set[str]:
    collection, lexical, _ = stores
    by_python = {i for i, meta in CHUNKS.items() if filters.passes(meta)}
    by_sql = {hit.id for hit in lexical.search("news", 100, filters)}
    if filters.matches_nothing:
        assert by_python == by_sql == set()
        return set()
    by_chroma = (
        set(collection.get(where=filters.chroma_where(), include=[])["ids"]) if filters else set(CHUNKS)
    )
    assert by_python == by_sql == by_chroma, (filters, by_python, by_sql, by_chroma)
    return by_python


@pytest.mark.parametrize(
    ("names", "since", "until", "expected"),
    [
        ((), None, None, set(CHUNKS)),
        (("techcrunch",), None, None, {"c3", "c4"}),
        (("TECHCRUNCH ",), 20231101, None, {"c3"}),
        (("ap",), None, None, {"c1", "c2"}),  # only in also_in: the stored copy of the story
        (("reuters", "verge"), None, None, {"c1", "c2", "c5"}),
        (("the verge",), None, 20231130, set()),
        ((), 20231005, 20231110, {"c1", "c2", "c3"}),
        ((), 20230102, None, {"c1", "c2", "c3", "c5"}),  # undated chunks are outside any range
        (("nowhere",), None, None, set()),
    ],
)
def test_chroma_sql_and_python_keep_the_same_chunks(
    stores: tuple[Any, LexicalIndex, OutletCatalog],
    names: tuple[str, ...],
    since: int | None,
    until: int | None,
    expected: set[str],
) -> None:
    filters = stores[2].filters(names, since, until)
    assert kept_by_each_translation(filters, stores) == expected


def test_outlets_resolve_in_any_case_with_also_in_and_unknown_ones_are_named(
    stores: tuple[Any, LexicalIndex, OutletCatalog],
) -> None:
    catalog = stores[2]
    assert catalog.known() == ["AP", "Reuters", "TechCrunch", "The Verge"]
    filters = catalog.filters(["Ap", "TechCrunch"])
    assert filters.sources == ("TechCrunch", "techcrunch") and filters.article_ids == ("wire",)
    assert outlet_key("  The   Verge ") == outlet_key("verge") == "verge"
    with pytest.raises(UnknownOutlet) as caught:
        catalog.require(["ap", "Bloomberg", "wierd"])
    assert caught.value.unknown == ["Bloomberg", "wierd"]
    assert str(caught.value) == (
        "No indexed article is from 'Bloomberg', 'wierd'. "
        "Outlets in the index: AP, Reuters, TechCrunch, The Verge."
    )
    catalog.require(["AP", "the verge"])


def test_a_question_names_outlets_with_the_same_matcher(
    stores: tuple[Any, LexicalIndex, OutletCatalog],
) -> None:
    catalog = stores[2]
    assert catalog.named_in("What did ap and techcrunch say, according to the Verge?") == (
        "AP",
        "TechCrunch",
        "The Verge",
    )
    assert catalog.named_in("Was the map accurate? What did Reutersfeed say?") == ()
    short = OutletCatalog.of([("", "The Age", None)])
    assert short.named_in("At what age?") == short.named_in("at the age of 16") == ()
    assert short.named_in("What did The Age say?") == short.named_in("what did the Age say?") == ("The Age",)


# ---- end to end: a real index holding a near-duplicate pair ----

STORY = (
    "Floodwater rose through the old harbour district overnight after three days of rain. "
    "Rescue crews moved two hundred residents to the sports hall, and the mayor closed the river "
    "bridges until engineers can inspect them. Forecasters expect the water to fall by Sunday. "
    "Shops along the quay stayed shut, and the ferry to the islands was cancelled for the weekend. "
    "Volunteers filled sandbags at the fire station while the army sent trucks and two boats. "
    "Insurers said it was too early to estimate the damage to homes and businesses."
)
ARTICLES = [
    {"id": "wire", "title": "Harbour flood", "source": "Reuters", "published": "2023-10-05", "text": STORY},
    {
        "id": "ap",
        "title": "Harbour floods",
        "source": "AP",
        "published": "2023-10-05",
        "text": STORY.replace("Sunday", "Monday"),
    },
    {
        "id": "tc",
        "title": "Chip maker raises funds",
        "source": "TechCrunch",
        "published": "2023-11-10",
        "text": "A startup that designs low-power AI chips raised forty million dollars on Friday.",
    },
    {
        "id": "verge",
        "title": "Phone review",
        "source": "The Verge",
        "published": "2023-12-01",
        "text": "The new phone has a brighter screen and a battery that lasts two days.",
    },
]


@pytest.fixture
def duplicate_desk(make_desk: Callable[..., Newsdesk], tmp_path: Path) -> Newsdesk:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    desk = make_desk()
    report = desk.indexer.index_paths([feed])
    assert [str(d) for d in report.duplicates] == ["ap (duplicate of wire)"]
    return desk


def articles_found(desk: Newsdesk, question: str, **filters: Any) -> set[str]:
    return {d.metadata["article_id"] for d in desk.qa.retriever.invoke(question, k=10, **filters)}


def test_outlet_filters_match_any_case_and_the_outlets_of_near_duplicates(duplicate_desk: Newsdesk) -> None:
    question = "What happened in the harbour and who raised money?"
    assert articles_found(duplicate_desk, question, source=["techcrunch"]) == {"tc"}
    assert articles_found(duplicate_desk, question, source=["AP"]) == {"wire"}
    assert articles_found(duplicate_desk, question, source=["ap", "TECHCRUNCH"]) == {"wire", "tc"}
    assert articles_found(duplicate_desk, question, source=["verge"], since="2023-12") == {"verge"}
    answer = duplicate_desk.qa.ask("When do forecasters expect the water to fall?", source=["ap"])
    assert not answer.abstained and "Sunday" in answer.answer
    assert [o["source"] for o in answer.citations[0].also_in] == ["AP"]


def test_an_outlet_the_index_does_not_hold_is_said_so(duplicate_desk: Newsdesk) -> None:
    answer = duplicate_desk.qa.ask("When do forecasters expect the water to fall?", source=["Bloomberg"])
    assert answer.abstained and answer.citations == []
    assert answer.answer == (
        "No indexed article is from 'Bloomberg'. Outlets in the index: AP, Reuters, TechCrunch, The Verge."
    )


def test_a_question_naming_an_outlet_in_lower_case_prefers_it(duplicate_desk: Newsdesk) -> None:
    retriever = duplicate_desk.qa.retriever
    assert retriever.hints("according to ap, what rose?").sources == ("AP",)
    docs = retriever.invoke("what did techcrunch report?")
    assert docs[0].metadata["article_id"] == "tc"
