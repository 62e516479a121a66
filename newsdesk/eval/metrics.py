"""Every metric is a pure function of prediction records (plus the article texts, for checking quotes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from newsdesk.eval.records import PredictionRecord
from newsdesk.rag.verify import is_verbatim
from newsdesk.text import normalize

Metrics = dict[str, Any]
"""Metric name -> value (float, int or None), plus ``by_type``: type -> Metrics."""


def normalize_answer(text: str) -> str:
    """An answer as the metrics compare it (``newsdesk.text.normalize``)."""
    return normalize(text)


def contains_answer(answer: str, accepted: Sequence[str]) -> bool:
    """True when one non-empty normalised accepted answer is a substring of the normalised answer."""
    normalized = normalize_answer(answer)
    return any(gold and gold in normalized for gold in (normalize_answer(a) for a in accepted))


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
    return text is not None and is_verbatim(
        text, citation.get("start"), citation.get("end"), citation.get("quote")
    )


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
