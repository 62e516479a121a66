"""Fixtures of the generated-answer tests: articles as retrieved passages, the extractive answerer."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from newsdesk.config import Settings
from newsdesk.index.chunk import chunk_article
from newsdesk.index.embed import Embedder
from newsdesk.index.load import Article, load_paths
from newsdesk.rag.llm.generate import Answerer
from newsdesk.rag.types import Answer
from newsdesk.wiring import Newsdesk
from tests.conftest import SEED_ARTICLE, SEEDS

ZHUHAI = "What aircraft will Russia display at the airshow in Zhuhai?"


def documents_of(article: Article, max_chars: int = 700, score: float = 0.6) -> list[Document]:
    """An article's chunks as retrieved Documents, with the metadata the retriever gives them."""
    return [
        Document(
            page_content=c.text,
            metadata={
                "article_id": article.id,
                "title": article.title,
                "url": article.url or article.id,
                "source": article.source,
                "published": article.published,
                "start": c.start,
                "end": c.end,
                "score": score,
            },
        )
        for c in chunk_article(article, max_chars=max_chars)
    ]


def verbatim(answer: Answer, texts: dict[str, str]) -> bool:
    """Every citation's quote is its article's text at its offsets."""
    return all(texts[c.article_id][c.start : c.end] == c.quote for c in answer.citations)


@pytest.fixture(scope="session")
def seed_article() -> Article:
    return load_paths([SEED_ARTICLE]).articles[0]


@pytest.fixture(scope="session")
def seed_documents(seed_article: Article) -> list[Document]:
    return documents_of(seed_article)


@pytest.fixture(scope="session")
def extractive(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Answerer:
    """The product's extractive answerer, as the wiring builds it (used only through ``answer``)."""
    folder: Path = tmp_path_factory.mktemp("extractive")
    settings = Settings(db=folder / "index", home=folder / "home")
    return Newsdesk(settings, embedder=embedder).qa.answerer


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A folder with a real index (embedded Chroma and BM25) of the seeds, made once."""
    folder = tmp_path_factory.mktemp("seed-index")
    Newsdesk(Settings(db=folder / "index", home=folder / "home"), embedder=embedder).indexer.index_paths(
        [SEEDS]
    )
    return folder


def desk_of(folder: Path, embedder: Embedder, **settings: object) -> Newsdesk:
    """A Newsdesk over the index in ``folder`` with these settings, sharing the loaded embedder."""
    return Newsdesk(Settings(db=folder / "index", home=folder / "home", **settings), embedder=embedder)  # type: ignore[arg-type]
