"""Generated-answer metrics, worked out by hand on small records, and their place in the report."""

from __future__ import annotations

import pytest

from newsdesk.eval.generated import first_token_p50_ms, llm_called_rate, verified_sentence_rate
from newsdesk.eval.metrics import metrics_from_records
from newsdesk.eval.records import PredictionRecord
from newsdesk.eval.report import format_report
from tests.eval.sample import TEXTS, make_records


def record(
    answer: str, citations: list[dict[str, object]], abstained: bool = False, **timings: float
) -> PredictionRecord:
    return PredictionRecord(
        id=answer[:8],
        question="q",
        type=None,
        answerable=True,
        gold_urls=[],
        answers=[],
        answer=answer,
        abstained=abstained,
        retrieved_urls=[],
        cited_urls=[],
        citations=citations,
        timings_ms={"total": 100.0, **timings},
    )


def test_verified_sentences_first_token_and_model_calls() -> None:
    records = [
        # a generated answer in mark mode: 2 of 3 sentences verified
        record(
            "Su-57. [1] It is a fighter. [2] It is Chinese. [3]",
            [{"n": 1, "verified": True}, {"n": 2, "verified": True}, {"n": 3, "verified": False}],
            first_token=50.0,
            llm=40.0,
        ),
        # an extractive answer: its citations were not checked (None), their quotes are the sentences
        record("China hosts Shoigu. [1]", [{"n": 1, "verified": None}], first_token=10.0),
        # an abstention has no sentence to count
        record("The indexed articles do not answer this question.", [], abstained=True, first_token=5.0),
    ]
    assert verified_sentence_rate(records) == pytest.approx(3 / 4)
    assert first_token_p50_ms(records) == 10.0
    assert llm_called_rate(records) == pytest.approx(1 / 3)
    assert verified_sentence_rate(records[2:]) is None and first_token_p50_ms(records[2:]) == 5.0


def test_older_records_without_numbers_are_not_counted() -> None:
    old = make_records()  # citations with url, quote, start and end only; no first token
    metrics = metrics_from_records(old, TEXTS)
    assert metrics["verified_sentence_rate"] is None and metrics["first_token_p50_ms"] is None
    assert metrics["llm_called_rate"] == 0.0
    report = format_report(metrics)
    assert any(line.startswith("verified sentences") and "n/a" in line for line in report.splitlines())
    assert any(line.startswith("first token p50 ms") for line in report.splitlines())
