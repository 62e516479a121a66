"""Fixtures: hand-written articles turned into retrieved ``Document``s the way Newsdesk's retriever
returns them (page_content is the chunk, metadata carries the citation fields and offsets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from newsdesk.rag.answer import ExtractiveAnswerer

HERE = Path(__file__).parent
STORIES = HERE / "stories"


def doc(
    text: str,
    *,
    title: str = "",
    source: str = "Test Wire",
    url: str = "",
    published: str = "2024-03-05",
    article_id: str = "",
    score: float = 0.5,
    start: int = 0,
    end: int | None = None,
) -> Document:
    """A retrieved passage ``text[start:end]`` of an article whose full body is ``text``."""
    end = len(text) if end is None else end
    key = article_id or url or title or text[:20]
    return Document(
        page_content=text[start:end],
        metadata={
            "article_id": key,
            "title": title,
            "url": url or f"https://example.test/{abs(hash(key))}",
            "source": source,
            "published": published,
            "start": start,
            "end": end,
            "score": score,
        },
    )


def story(name: str) -> tuple[str, str]:
    """(title, text) of a held-out story file, loaded as Newsdesk loads .txt/.md (title = first line)."""
    text = (STORIES / name).read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.strip())
    return first.lstrip("# ").strip(), text


@pytest.fixture(scope="session")
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer.load()


@pytest.fixture(scope="session")
def stories() -> list[Document]:
    docs = []
    for i, name in enumerate(
        ["riverton-harbor-bridge.txt", "greenfield-solar-farm.md", "junior-chess-champion.txt"]
    ):
        title, text = story(name)
        docs.append(
            doc(text, title=title, url=str(STORIES / name), source="", published="", score=0.3 - 0.01 * i)
        )
    return docs
