"""Retrieval dumps: an eval set's questions with the passages retrieved for each, saved once, so the
answer step can be fitted and scored many times without indexing or retrieving again."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from newsdesk.config import Settings
from newsdesk.eval.records import load_eval_articles, load_questions


def dump_retrieval(data_dir: Path, out: Path, settings: Settings | None = None) -> Path:
    """Index ``data_dir``'s articles, retrieve for every question (from the question's ``date`` when
    it has one, as ``newsdesk eval`` does), write ``out``.

    The index is a fresh temporary one unless ``settings.db`` names one (kept between runs: indexing
    a large set takes long, and an unchanged article is not indexed twice).

    Each line: the question's fields (id, question, answers, answerable, type, gold_urls, date) and
    the retrieved ``documents`` (page_content and metadata), as the answer step receives them.
    """
    from newsdesk.wiring import Newsdesk

    with tempfile.TemporaryDirectory(prefix="newsdesk-dump-") as tmp:
        base = settings or Settings()
        if base.db is None:
            base = base.model_copy(update={"db": Path(tmp) / "index", "home": Path(tmp) / "home"})
        desk = Newsdesk(base)
        desk.indexer.index_articles(load_eval_articles(data_dir))
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as lines:
            for question in load_questions(data_dir):
                text = str(question["question"]).strip()
                as_of = str(question.get("date") or "") or None
                documents = desk.qa.retriever.invoke(text, None, as_of=as_of) if text else []
                row = {
                    key: question.get(key)
                    for key in ("id", "question", "answers", "answerable", "type", "gold_urls", "date")
                }
                row["documents"] = [
                    {"page_content": d.page_content, "metadata": d.metadata} for d in documents
                ]
                lines.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def load_dump(path: Path) -> Iterator[dict[str, Any]]:
    """The rows ``dump_retrieval`` wrote."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def documents_of(row: dict[str, Any]) -> list[Document]:
    """The retrieved passages of one dumped question, as the answer step receives them."""
    return [Document(page_content=d["page_content"], metadata=dict(d["metadata"])) for d in row["documents"]]
