"""Every metric is a pure function of prediction records (plus the articles, for checking quotes).

Answer metrics follow ``shared/eval/README.md``: an accepted answer counts when, normalised, it occurs
in the normalised answer as whole words (so "no" does not match "announced"); the lead is the text
before the first ``[n]`` marker; yes/no accuracy wants the right one of yes/no in the lead and not
the other. ``answer_containment_substring`` keeps the older, looser substring check beside the
whole-word one for one release, so the change of definition is visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from newsdesk.eval.generated import generated_metrics
from newsdesk.eval.records import PredictionRecord
from newsdesk.rag.verify import is_verbatim
from newsdesk.reading.markers import MARKER
from newsdesk.text import normalize

Metrics = dict[str, Any]
"""Metric name -> value (float, int or None), plus ``by_type``: type -> Metrics."""


def normalize_answer(text: str) -> str:
    """An answer as the metrics compare it (``newsdesk.text.normalize``, punctuation made a space as the
    eval sets' README says, so "Google’s" holds "Google")."""
    return normalize(text, " ")


def contains_answer(answer: str, accepted: Sequence[str]) -> bool:
    """True when one non-empty normalised accepted answer occurs in the normalised answer as whole words."""
    padded = f" {normalize_answer(answer)} "
    return any(gold and f" {gold} " in padded for gold in (normalize_answer(a) for a in accepted))


def contains_substring(answer: str, accepted: Sequence[str]) -> bool:
    """The older check: a normalised accepted answer is a substring of the normalised answer."""
    normalized = normalize_answer(answer)
    return any(gold and gold in normalized for gold in (normalize_answer(a) for a in accepted))


def lead_of(answer: str) -> str:
    """The answer's lead: the text before its first ``[n]`` marker (the whole text if it has none)."""
    match = MARKER.search(answer)
    return answer[: match.start()] if match else answer


def answer_words(answer: str) -> int:
    """Words of an answer, its markers left out."""
    return len(MARKER.sub(" ", answer).split())


def yes_no_gold(answers: Sequence[str]) -> str | None:
    """``yes`` or ``no`` when the question's (first) accepted answer is one of them, else None."""
    gold = normalize_answer(answers[0]) if answers else ""
    return gold if gold in ("yes", "no") else None


def yes_no_correct(lead: str, gold: str) -> bool:
    """The lead holds the right one of yes/no (as a whole word) and not the other."""
    other = "no" if gold == "yes" else "yes"
    return contains_answer(lead, [gold]) and not contains_answer(lead, [other])


def median(values: Sequence[float]) -> float | None:
    """The median; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


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


def _answerable(records: Sequence[PredictionRecord]) -> list[PredictionRecord]:
    return [r for r in records if r.answerable]


def answer_containment(records: Sequence[PredictionRecord]) -> float | None:
    """Share of answerable questions answered (not abstained) with an accepted answer in the text."""
    return _mean(
        [float(not r.abstained and contains_answer(r.answer, r.answers)) for r in _answerable(records)]
    )


def answer_containment_substring(records: Sequence[PredictionRecord]) -> float | None:
    """``answer_containment`` with the older substring check (kept for one release)."""
    answerable = _answerable(records)
    return _mean([float(not r.abstained and contains_substring(r.answer, r.answers)) for r in answerable])


def lead_containment(records: Sequence[PredictionRecord]) -> float | None:
    """Share of answerable questions whose answer's first sentence (the lead) holds an accepted answer."""
    answerable = _answerable(records)
    return _mean(
        [float(not r.abstained and contains_answer(lead_of(r.answer), r.answers)) for r in answerable]
    )


def yes_no_accuracy(records: Sequence[PredictionRecord], gold: str | None = None) -> float | None:
    """Share of yes/no questions (only the ``gold`` ones when given) whose lead says the right one."""
    asked = [(r, yes_no_gold(r.answers)) for r in _answerable(records)]
    scored = [(r, g) for r, g in asked if g is not None and (gold is None or g == gold)]
    return _mean([float(not r.abstained and yes_no_correct(lead_of(r.answer), g)) for r, g in scored])


def answerable_refused(records: Sequence[PredictionRecord]) -> float | None:
    """Share of answerable questions on which Newsdesk abstained (false refusals)."""
    return _mean([float(r.abstained) for r in _answerable(records)])


def median_answer_words(records: Sequence[PredictionRecord]) -> float | None:
    """Median words of the non-abstaining answers, markers left out."""
    return median([answer_words(r.answer) for r in records if not r.abstained])


def abstention_precision(records: Sequence[PredictionRecord]) -> float | None:
    """Share of abstentions that were on unanswerable questions; None when nothing abstained."""
    abstained = [r for r in records if r.abstained]
    return _mean([float(not r.answerable) for r in abstained])


def abstention_recall(records: Sequence[PredictionRecord]) -> float | None:
    """Share of unanswerable questions that were abstained on; None when every question is answerable."""
    unanswerable = [r for r in records if not r.answerable]
    return _mean([float(r.abstained) for r in unanswerable])


def citation_is_verbatim(
    citation: dict[str, Any],
    article_texts_by_url: dict[str, str],
    titles_by_url: dict[str, str] | None = None,
) -> bool:
    """True when the quote is exactly the cited field's ``[start:end]`` (the body, ``text``, or the
    headline, ``title``), and its ``answer_span``, if any, lies inside it and is verbatim too."""
    field = str(citation.get("field") or "text")
    texts = (titles_by_url or {}) if field == "title" else article_texts_by_url
    text = texts.get(str(citation.get("url", "")))
    start, end = citation.get("start"), citation.get("end")
    if text is None or not is_verbatim(text, start, end, citation.get("quote")):
        return False
    span = citation.get("answer_span")
    if not span:
        return True
    assert isinstance(start, int) and isinstance(end, int)
    inside = isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
    return (
        inside
        and start <= span["start"] <= span["end"] <= end
        and is_verbatim(text, span["start"], span["end"], span.get("text"))
    )


def citation_verbatim_rate(
    records: Sequence[PredictionRecord],
    article_texts_by_url: dict[str, str],
    titles_by_url: dict[str, str] | None = None,
) -> float | None:
    """Share of all citations (of every record) whose quote is verbatim; None when there are none."""
    return _mean(
        [
            float(citation_is_verbatim(c, article_texts_by_url, titles_by_url))
            for record in records
            for c in record.citations
        ]
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


def _flat_metrics(
    records: Sequence[PredictionRecord], texts: dict[str, str], titles: dict[str, str] | None
) -> Metrics:
    unanswerable = [r for r in records if not r.answerable]
    return {
        "n_questions": len(records),
        "n_answerable": sum(r.answerable for r in records),
        "n_unanswerable": len(unanswerable),
        "n_abstained": sum(r.abstained for r in records),
        "n_citations": sum(len(r.citations) for r in records),
        "hit@1": hit_at_k(records, 1),
        "hit@5": hit_at_k(records, 5),
        "recall@5": recall_at_k(records, 5),
        "recall@10": recall_at_k(records, 10),
        "mrr@10": mrr_at_k(records, 10),
        "lead_containment": lead_containment(records),
        "answer_containment": answer_containment(records),
        "answer_containment_substring": answer_containment_substring(records),
        "yes_no_accuracy": yes_no_accuracy(records),
        "yes_accuracy": yes_no_accuracy(records, "yes"),
        "no_accuracy": yes_no_accuracy(records, "no"),
        "median_answer_words": median_answer_words(records),
        "answerable_refused": answerable_refused(records),
        "unanswerable_refused": abstention_recall(records),
        "abstention_precision": abstention_precision(records),
        "abstention_recall": abstention_recall(records),
        "citation_verbatim_rate": citation_verbatim_rate(records, texts, titles),
        "cited_gold_rate": cited_gold_rate(records),
        "latency_p50_ms": latency_ms(records, 50),
        "latency_p95_ms": latency_ms(records, 95),
        **generated_metrics(records),
    }


def metrics_from_records(
    records: Sequence[PredictionRecord],
    article_texts_by_url: dict[str, str],
    titles_by_url: dict[str, str] | None = None,
) -> Metrics:
    """Every metric over ``records``, plus ``by_type`` (type -> metrics) when records carry a type.

    ``titles_by_url`` lets citations of a headline (``field: "title"``) be checked too.
    """
    metrics = _flat_metrics(records, article_texts_by_url, titles_by_url)
    types = sorted({r.type for r in records if r.type is not None})
    metrics["by_type"] = {
        kind: _flat_metrics([r for r in records if r.type == kind], article_texts_by_url, titles_by_url)
        for kind in types
    }
    return metrics
