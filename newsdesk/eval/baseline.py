"""The plain LangChain pipeline (``Chroma.from_documents`` + ``HuggingFaceEmbeddings``), run over the
same eval set beside Newsdesk, the reference every number is compared with."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from newsdesk.config import Settings
from newsdesk.eval.metrics import Metrics, metrics_from_records
from newsdesk.eval.records import PredictionRecord, load_eval_articles, load_questions
from newsdesk.eval.run import FETCH_FACTOR, RETRIEVAL_DEPTH, _distinct, _record


def run_baseline(
    data_dir: Path, settings: Settings, k: int = 10, limit: int | None = None
) -> tuple[Metrics, list[PredictionRecord], float]:
    """The plain LangChain pipeline on the same set, scored the same way as ``run_eval``.

    RecursiveCharacterTextSplitter (1000/200 characters), Chroma (cosine) in a temporary folder with
    Newsdesk's local embedding model, dense top-``max(k, 10)`` chunks. Its answer is the top chunk's
    text, cited by that chunk; it never abstains.

    Returns:
        (metrics, records, indexing seconds); ``metrics['index_seconds']`` holds the seconds too.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from newsdesk.index.embed import Embedder

    articles = load_eval_articles(data_dir)
    questions = load_questions(data_dir, limit)
    texts = {a.url: a.text for a in articles}
    depth = max(k, RETRIEVAL_DEPTH)
    embedder = Embedder(
        settings.embedding_model, batch_size=settings.embedding_batch_size, threads=settings.torch_threads
    )
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)

    with tempfile.TemporaryDirectory(prefix="newsdesk-baseline-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=ChromaSettings(anonymized_telemetry=False))
        store = Chroma(
            collection_name="baseline",
            embedding_function=embedder,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )
        started = time.perf_counter()
        documents = splitter.create_documents(
            [a.text for a in articles], metadatas=[{"url": a.url, "title": a.title} for a in articles]
        )
        for begin in range(0, len(documents), 1000):
            batch = documents[begin : begin + 1000]
            store.add_documents(batch, ids=[f"chunk-{begin + i:06d}" for i in range(len(batch))])
        index_seconds = time.perf_counter() - started

        records: list[PredictionRecord] = []
        for question in questions:
            text = str(question["question"]).strip()
            asked = time.perf_counter()
            hits = store.similarity_search(text, k=depth * FETCH_FACTOR)
            elapsed = (time.perf_counter() - asked) * 1000
            citations: list[dict[str, Any]] = []
            if hits:
                top = hits[0]
                url = str(top.metadata["url"])
                start = _chunk_start(texts.get(url, ""), top.page_content, top.metadata.get("start_index"))
                citations = [
                    {
                        "url": url,
                        "quote": top.page_content,
                        "start": start,
                        "end": start + len(top.page_content),
                    }
                ]
            records.append(
                _record(
                    question,
                    answer=hits[0].page_content if hits else "",
                    abstained=False,
                    retrieved_urls=_distinct(str(d.metadata.get("url", "")) for d in hits)[:depth],
                    citations=citations,
                    timings_ms={"retrieve": elapsed, "total": elapsed},
                )
            )
    metrics = metrics_from_records(records, texts)
    metrics["index_seconds"] = index_seconds
    return metrics, records, index_seconds


def _chunk_start(article_text: str, chunk_text: str, start_index: Any) -> int:
    """Where the splitter's chunk starts in the article: its ``start_index``, else the first match."""
    if (
        isinstance(start_index, int)
        and article_text[start_index : start_index + len(chunk_text)] == chunk_text
    ):
        return start_index
    return article_text.find(chunk_text)


# --------------------------------------------------------------------------- report
