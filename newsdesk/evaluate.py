"""Evaluation harness: run Newsdesk (or a plain LangChain pipeline) over an eval set and score it.

An eval set is a folder with ``articles.jsonl`` and ``questions.jsonl`` (see ``shared/eval/README.md``).
Every question becomes one ``PredictionRecord``; every metric is a pure function of those records
(plus the article texts, for checking citation quotes), so a predictions JSONL file written by
``write_predictions`` is enough to recompute the whole report with ``metrics_from_records``.

Metrics (``None`` where no question qualifies, e.g. abstention precision when nothing abstained):

* retrieval, over answerable questions with at least one gold url, on the ranked *distinct* article
  urls of the retrieved chunks: ``hit@1``, ``hit@5``, ``recall@5``, ``recall@10``, ``mrr@10``;
* ``answer_containment``: answerable questions whose answer contains an accepted answer, after
  normalising both (lower case, accents folded, punctuation dropped, spaces collapsed); an
  abstained answer is wrong;
* ``abstention_precision`` / ``abstention_recall``: positive class = abstained, truth = unanswerable;
* ``citation_verbatim_rate``: citations whose quote equals ``article_text[start:end]``;
* ``cited_gold_rate``: non-abstained answers to answerable questions citing at least one gold url;
* ``latency_p50_ms`` / ``latency_p95_ms``: of the total time to answer one question;
* ``by_type``: the same metrics per question ``type`` when the set has one.
"""

from __future__ import annotations

import json
import string
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.config import Settings
from newsdesk.index.load import Article, load_paths

Metrics = dict[str, Any]
"""Metric name -> value (float, int or None), plus ``by_type``: type -> Metrics."""

RETRIEVAL_DEPTH = 10
"""Distinct articles per question used for the ranking metrics (at least; see ``run_eval``)."""

FETCH_FACTOR = 4
"""Chunks fetched per wanted article, so both pipelines can fill the top ``depth`` distinct articles."""

_ASCII_PUNCTUATION = frozenset(string.punctuation)


@dataclass
class PredictionRecord:
    """What one system did with one question, with the question's ground truth.

    ``retrieved_urls`` are the distinct article urls of the retrieved chunks, best first (top 10);
    ``citations`` are dicts with ``url``, ``quote``, ``start`` and ``end``.
    """

    id: str
    question: str
    type: str | None
    answerable: bool
    gold_urls: list[str]
    answers: list[str]
    answer: str
    abstained: bool
    retrieved_urls: list[str]
    cited_urls: list[str]
    citations: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictionRecord:
        """The record ``to_dict`` wrote."""
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            type=data.get("type"),
            answerable=bool(data["answerable"]),
            gold_urls=[str(u) for u in data.get("gold_urls", [])],
            answers=[str(a) for a in data.get("answers", [])],
            answer=str(data.get("answer", "")),
            abstained=bool(data["abstained"]),
            retrieved_urls=[str(u) for u in data.get("retrieved_urls", [])],
            cited_urls=[str(u) for u in data.get("cited_urls", [])],
            citations=[dict(c) for c in data.get("citations", [])],
            timings_ms={str(k): float(v) for k, v in data.get("timings_ms", {}).items()},
        )


# --------------------------------------------------------------------------- predictions files


def write_predictions(path: Path, records: Iterable[PredictionRecord]) -> None:
    """Write ``records`` as JSON lines (UTF-8, one record a line)."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_predictions(path: Path) -> list[PredictionRecord]:
    """Read the records ``write_predictions`` wrote."""
    with path.open(encoding="utf-8") as lines:
        return [PredictionRecord.from_dict(json.loads(line)) for line in lines if line.strip()]


# --------------------------------------------------------------------------- answer matching


def normalize_answer(text: str) -> str:
    """Lower case, accents folded (NFKD, combining marks dropped), punctuation dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = (
        ch
        for ch in decomposed
        if not unicodedata.combining(ch)
        and not unicodedata.category(ch).startswith("P")
        and ch not in _ASCII_PUNCTUATION
    )
    return " ".join("".join(kept).split())


def contains_answer(answer: str, accepted: Sequence[str]) -> bool:
    """True when one non-empty normalised accepted answer is a substring of the normalised answer."""
    normalized = normalize_answer(answer)
    return any(gold and gold in normalized for gold in (normalize_answer(a) for a in accepted))


# --------------------------------------------------------------------------- metric functions


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ranked(records: Iterable[PredictionRecord]) -> list[PredictionRecord]:
    """The records retrieval metrics are computed on: answerable, with at least one gold url."""
    return [r for r in records if r.answerable and r.gold_urls]


def hit_at_k(records: Sequence[PredictionRecord], k: int) -> float | None:
    """Share of answerable questions with a gold url among the top ``k`` retrieved article urls."""
    ranked = _ranked(records)
    return _mean([float(bool(set(r.gold_urls) & set(r.retrieved_urls[:k]))) for r in ranked])


def recall_at_k(records: Sequence[PredictionRecord], k: int) -> float | None:
    """Fraction of each answerable question's gold urls in its top ``k`` article urls, averaged."""
    ranked = _ranked(records)
    return _mean([len(set(r.gold_urls) & set(r.retrieved_urls[:k])) / len(set(r.gold_urls)) for r in ranked])


def mrr_at_k(records: Sequence[PredictionRecord], k: int) -> float | None:
    """Mean over answerable questions of 1/rank of the first gold url in the top ``k`` (0 if none)."""

    def reciprocal_rank(record: PredictionRecord) -> float:
        gold = set(record.gold_urls)
        for rank, url in enumerate(record.retrieved_urls[:k], start=1):
            if url in gold:
                return 1.0 / rank
        return 0.0

    return _mean([reciprocal_rank(r) for r in _ranked(records)])


def answer_containment(records: Sequence[PredictionRecord]) -> float | None:
    """Share of answerable questions answered (not abstained) with text containing an accepted answer."""
    answerable = [r for r in records if r.answerable]
    return _mean([float(not r.abstained and contains_answer(r.answer, r.answers)) for r in answerable])


def abstention_precision(records: Sequence[PredictionRecord]) -> float | None:
    """Share of abstentions that were on unanswerable questions; None when nothing abstained."""
    abstained = [r for r in records if r.abstained]
    return _mean([float(not r.answerable) for r in abstained])


def abstention_recall(records: Sequence[PredictionRecord]) -> float | None:
    """Share of unanswerable questions that were abstained on; None when every question is answerable."""
    unanswerable = [r for r in records if not r.answerable]
    return _mean([float(r.abstained) for r in unanswerable])


def citation_is_verbatim(citation: dict[str, Any], article_texts_by_url: dict[str, str]) -> bool:
    """True when the quote is exactly the cited article's ``text[start:end]``."""
    text = article_texts_by_url.get(str(citation.get("url", "")))
    start, end = citation.get("start"), citation.get("end")
    if text is None or not isinstance(start, int) or not isinstance(end, int):
        return False
    return 0 <= start <= end <= len(text) and text[start:end] == citation.get("quote")


def citation_verbatim_rate(
    records: Sequence[PredictionRecord], article_texts_by_url: dict[str, str]
) -> float | None:
    """Share of all citations (of every record) whose quote is verbatim; None when there are none."""
    return _mean(
        [float(citation_is_verbatim(c, article_texts_by_url)) for record in records for c in record.citations]
    )


def cited_gold_rate(records: Sequence[PredictionRecord]) -> float | None:
    """Share of non-abstained answers to answerable questions whose cited urls include a gold url.

    Unanswerable questions are left out: their gold urls are empty (multihop-news) or a look-alike
    paragraph (squad2-dev), so citing them says nothing about the answer's support.
    """
    answered = [r for r in records if not r.abstained and r.answerable and r.gold_urls]
    return _mean([float(bool(set(r.cited_urls) & set(r.gold_urls))) for r in answered])


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_ms(records: Sequence[PredictionRecord], q: float) -> float | None:
    """The ``q``-th percentile of the total ask time (``timings_ms['total']``) in milliseconds."""
    return percentile([r.timings_ms["total"] for r in records if "total" in r.timings_ms], q)


def _flat_metrics(records: Sequence[PredictionRecord], article_texts_by_url: dict[str, str]) -> Metrics:
    return {
        "n_questions": len(records),
        "n_answerable": sum(r.answerable for r in records),
        "n_unanswerable": sum(not r.answerable for r in records),
        "n_abstained": sum(r.abstained for r in records),
        "n_citations": sum(len(r.citations) for r in records),
        "hit@1": hit_at_k(records, 1),
        "hit@5": hit_at_k(records, 5),
        "recall@5": recall_at_k(records, 5),
        "recall@10": recall_at_k(records, 10),
        "mrr@10": mrr_at_k(records, 10),
        "answer_containment": answer_containment(records),
        "abstention_precision": abstention_precision(records),
        "abstention_recall": abstention_recall(records),
        "citation_verbatim_rate": citation_verbatim_rate(records, article_texts_by_url),
        "cited_gold_rate": cited_gold_rate(records),
        "latency_p50_ms": latency_ms(records, 50),
        "latency_p95_ms": latency_ms(records, 95),
    }


def metrics_from_records(
    records: Sequence[PredictionRecord], article_texts_by_url: dict[str, str]
) -> Metrics:
    """Every metric over ``records``, plus ``by_type`` (type -> metrics) when records carry a type."""
    metrics = _flat_metrics(records, article_texts_by_url)
    types = sorted({r.type for r in records if r.type is not None})
    metrics["by_type"] = {
        kind: _flat_metrics([r for r in records if r.type == kind], article_texts_by_url) for kind in types
    }
    return metrics


# --------------------------------------------------------------------------- running a system


def load_eval_articles(data_dir: Path) -> list[Article]:
    """The articles of an eval set; any line that does not load is an error (the set must be whole)."""
    loaded = load_paths([data_dir / "articles.jsonl"])
    if loaded.problems:
        listed = "; ".join(str(p) for p in loaded.problems[:5])
        raise ValueError(f"{len(loaded.problems)} problem(s) loading {data_dir}/articles.jsonl: {listed}")
    return loaded.articles


def load_questions(data_dir: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` (default: all) questions of an eval set, as dicts."""
    questions: list[dict[str, Any]] = []
    with (data_dir / "questions.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(questions) >= limit:
                break
            if line.strip():
                questions.append(json.loads(line))
    return questions


def _distinct(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(u for u in urls if u))


def _record(
    question: dict[str, Any],
    *,
    answer: str,
    abstained: bool,
    retrieved_urls: list[str],
    citations: list[dict[str, Any]],
    timings_ms: dict[str, float],
) -> PredictionRecord:
    return PredictionRecord(
        id=str(question["id"]),
        question=str(question["question"]),
        type=question.get("type"),
        answerable=bool(question.get("answerable", True)),
        gold_urls=[str(u) for u in question.get("gold_urls", [])],
        answers=[str(a) for a in question.get("answers", [])],
        answer=answer,
        abstained=abstained,
        retrieved_urls=retrieved_urls,
        cited_urls=_distinct(str(c["url"]) for c in citations),
        citations=citations,
        timings_ms=timings_ms,
    )


def run_eval(
    data_dir: Path, settings: Settings, k: int = 10, limit: int | None = None
) -> tuple[Metrics, list[PredictionRecord], float]:
    """Index ``data_dir``'s articles with Newsdesk and ask it every question.

    Answers come from ``NewsdeskQA.ask`` with the settings' own ``k``; the retrieval ranking from the
    same retriever asked for ``max(k, 10)`` chunks, reduced to distinct article urls. When
    ``settings.db`` is None the index goes to a temporary folder, so no user index is touched.

    Returns:
        (metrics, records, indexing seconds); ``metrics['index_seconds']`` holds the seconds too.
    """
    from newsdesk.wiring import Newsdesk

    articles = load_eval_articles(data_dir)
    questions = load_questions(data_dir, limit)
    depth = max(k, RETRIEVAL_DEPTH)
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as tmp:
        if settings.db is None:
            settings = settings.model_copy(update={"db": Path(tmp) / "index"})
        desk = Newsdesk(settings)
        started = time.perf_counter()
        desk.indexer.index_articles(articles)
        index_seconds = time.perf_counter() - started

        records: list[PredictionRecord] = []
        for question in questions:
            text = str(question["question"])
            answer = desk.qa.ask(text)
            documents = desk.qa.retriever.invoke(text.strip(), k=depth * FETCH_FACTOR) if text.strip() else []
            records.append(
                _record(
                    question,
                    answer=answer.answer,
                    abstained=answer.abstained,
                    retrieved_urls=_distinct(str(d.metadata.get("url", "")) for d in documents)[:depth],
                    citations=[
                        {"url": c.url, "quote": c.quote, "start": c.start, "end": c.end}
                        for c in answer.citations
                    ],
                    timings_ms=dict(answer.timings_ms),
                )
            )
    metrics = metrics_from_records(records, {a.url: a.text for a in articles})
    metrics["index_seconds"] = index_seconds
    return metrics, records, index_seconds


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


def _fraction(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _milliseconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _seconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _count(value: Any) -> str:
    return "n/a" if value is None else str(int(value))


Row = tuple[str, str, Callable[[Any], str]]
"""(label, metric key, formatter) of one report line."""

_ROWS: list[Row] = [
    ("questions", "n_questions", _count),
    ("answerable", "n_answerable", _count),
    ("unanswerable", "n_unanswerable", _count),
    ("indexing s", "index_seconds", _seconds),
    ("hit@1", "hit@1", _fraction),
    ("hit@5", "hit@5", _fraction),
    ("recall@5", "recall@5", _fraction),
    ("recall@10", "recall@10", _fraction),
    ("MRR@10", "mrr@10", _fraction),
    ("answer containment", "answer_containment", _fraction),
    ("abstained", "n_abstained", _count),
    ("abstention precision", "abstention_precision", _fraction),
    ("abstention recall", "abstention_recall", _fraction),
    ("citations", "n_citations", _count),
    ("citation verbatim rate", "citation_verbatim_rate", _fraction),
    ("answers citing gold", "cited_gold_rate", _fraction),
    ("latency p50 ms", "latency_p50_ms", _milliseconds),
    ("latency p95 ms", "latency_p95_ms", _milliseconds),
]

_TYPE_ROWS = [row for row in _ROWS if row[1] not in ("index_seconds", "n_citations")]


def _table(rows: list[Row], columns: list[tuple[str, Metrics]]) -> list[str]:
    header = ["metric", *(name for name, _ in columns)]
    body = [[label, *(fmt(metrics.get(key)) for _, metrics in columns)] for label, key, fmt in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return " | ".join([first, *rest])

    return [line(header), "-+-".join("-" * w for w in widths), *(line(row) for row in body)]


def format_report(metrics: Metrics, baseline_metrics: Metrics | None = None) -> str:
    """A plain-text table, metric | newsdesk | plain, then one table per question type if any."""
    columns = [("newsdesk", metrics)]
    if baseline_metrics is not None:
        columns.append(("plain", baseline_metrics))
    lines = _table(_ROWS, columns)
    types = sorted({*metrics.get("by_type", {}), *(baseline_metrics or {}).get("by_type", {})})
    for kind in types:
        typed = [(name, m.get("by_type", {}).get(kind, {})) for name, m in columns]
        lines += ["", f"type: {kind}", *_table(_TYPE_ROWS, typed)]
    return "\n".join(lines)
