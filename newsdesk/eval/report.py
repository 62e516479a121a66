"""The eval report: Newsdesk and the plain pipeline side by side, overall and per question type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from newsdesk.eval.generated import GENERATED_ROWS
from newsdesk.eval.metrics import Metrics


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
    ("lead containment", "lead_containment", _fraction),
    ("answer containment", "answer_containment", _fraction),
    ("containment (substring, old)", "answer_containment_substring", _fraction),
    ("yes/no accuracy", "yes_no_accuracy", _fraction),
    ("  yes questions", "yes_accuracy", _fraction),
    ("  no questions", "no_accuracy", _fraction),
    ("median answer words", "median_answer_words", _seconds),
    ("answerable refused", "answerable_refused", _fraction),
    ("abstained", "n_abstained", _count),
    ("abstention precision", "abstention_precision", _fraction),
    ("abstention recall", "abstention_recall", _fraction),
    ("citations", "n_citations", _count),
    ("citation verbatim rate", "citation_verbatim_rate", _fraction),
    ("answers citing gold", "cited_gold_rate", _fraction),
    ("latency p50 ms", "latency_p50_ms", _milliseconds),
    ("latency p95 ms", "latency_p95_ms", _milliseconds),
    *GENERATED_ROWS,
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
