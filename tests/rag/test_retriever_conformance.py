"""LangChain's own standard tests for retrievers (``langchain-tests``), run on Newsdesk's retriever over
a real index of the seed article and three short stories: what any LangChain chain expects of a
retriever holds for this one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from newsdesk.config import Settings
from newsdesk.rag.retrieve import NewsRetriever
from newsdesk.wiring import Newsdesk
from tests.conftest import SEEDS

STORIES = Path(__file__).parent / "answer" / "stories"

_INDEX: dict[str, Newsdesk] = {}


@pytest.fixture(scope="module", autouse=True)
def seeded_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder: Path = tmp_path_factory.mktemp("conformance")
    desk = Newsdesk(Settings(db=folder / "index", home=folder / "home"))
    desk.indexer.index_paths([SEEDS, STORIES])
    _INDEX["desk"] = desk
    yield
    _INDEX.clear()


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        desk = _INDEX["desk"]
        return {"store": desk.store, "embedder": desk.embedder}

    @property
    def retriever_query_example(self) -> str:
        return "Who is visiting Beijing for security talks?"
