"""The evaluation metrics, pinned on a hand-made set, and one real run on squad2-dev."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.config import Settings
from newsdesk.evaluate import (
    PredictionRecord,
    abstention_precision,
    abstention_recall,
    contains_answer,
    format_report,
    metrics_from_records,
    normalize_answer,
    percentile,
    read_predictions,
    run_eval,
    write_predictions,
)

A, B, C = "https://news.example/a", "https://news.example/b", "https://news.example/c"
TEXTS = {
    A: "Café Müller opened in 1999. It serves coffee.",  # [0:27] first sentence, [12:26] "opened in 1999"
    B: "The bridge is 300 m long.",  # [0:25] whole text
    C: "Nothing here.",  # [0:13] whole text; [0:8] is "Nothing " (with the space)
}


def cite(url: str, quote: str, start: int, end: int) -> dict[str, object]:
    return {"url": url, "quote": quote, "start": start, "end": end}


def make_records() -> list[PredictionRecord]:
    """Five questions; expected numbers are worked out by hand in the tests below."""
    return [
        # q1: answerable, right answer (accents/punctuation/spaces differ), gold A at rank 1.
        PredictionRecord(
            id="q1",
            question="Which café opened in 1999?",
            type="inference_query",
            answerable=True,
            gold_urls=[A],
            answers=["Café Müller"],
            answer="It is the  CAFE Müller, in Paris [1].",
            abstained=False,
            retrieved_urls=[A, B, C],
            cited_urls=[A],
            citations=[cite(A, "Café Müller opened in 1999.", 0, 27)],
            timings_ms={"retrieve": 4.0, "answer": 6.0, "total": 10.0},
        ),
        # q2: answerable, wrong answer ("300m" does not contain "300 m"); gold B at rank 3, A at rank 6;
        # cites C only (not gold); one verbatim citation, one not ("Nothing" != "Nothing ").
        PredictionRecord(
            id="q2",
            question="How long is the bridge?",
            type="comparison_query",
            answerable=True,
            gold_urls=[A, B],
            answers=["300 m"],
            answer="The bridge is 300m long [1].",
            abstained=False,
            retrieved_urls=[C, "x1", B, "x2", "x3", A],
            cited_urls=[C],
            citations=[cite(C, "Nothing here.", 0, 13), cite(C, "Nothing", 0, 8)],
            timings_ms={"total": 20.0},
        ),
        # q3: answerable but abstained: wrong even though the text says "bridge"; gold B not retrieved.
        PredictionRecord(
            id="q3",
            question="What is 300 m long?",
            type="comparison_query",
            answerable=True,
            gold_urls=[B],
            answers=["bridge"],
            answer="Nothing about the bridge.",
            abstained=True,
            retrieved_urls=[A],
            cited_urls=[],
            citations=[],
            timings_ms={"total": 30.0},
        ),
        # q4: unanswerable, abstained (true positive).
        PredictionRecord(
            id="q4",
            question="Who owns the bridge?",
            type="null_query",
            answerable=False,
            gold_urls=[],
            answers=["Insufficient information."],
            answer="The indexed articles do not answer this question.",
            abstained=True,
            retrieved_urls=[C],
            cited_urls=[],
            citations=[],
            timings_ms={"total": 40.0},
        ),
        # q5: unanswerable, answered anyway (false negative) with one verbatim citation.
        PredictionRecord(
            id="q5",
            question="When did the bridge open?",
            type="null_query",
            answerable=False,
            gold_urls=[],
            answers=["Insufficient information."],
            answer="It opened in 1999 [1].",
            abstained=False,
            retrieved_urls=[A, B],
            cited_urls=[A],
            citations=[cite(A, "opened in 1999", 12, 26)],
            timings_ms={"total": 100.0},
        ),
    ]


def test_the_hand_made_citations_are_what_the_comments_say() -> None:
    assert TEXTS[A][0:27] == "Café Müller opened in 1999."
    assert TEXTS[A][12:26] == "opened in 1999"
    assert TEXTS[C][0:8] == "Nothing "


def test_retrieval_metrics_count_answerable_questions_only() -> None:
    m = metrics_from_records(make_records(), TEXTS)
    # answerable: q1, q2, q3 (q4 and q5 are ignored even though they retrieved something)
    assert m["n_questions"] == 5 and m["n_answerable"] == 3 and m["n_unanswerable"] == 2
    # hit@1: q1 yes (A first), q2 no (C first), q3 no -> 1/3
    assert m["hit@1"] == pytest.approx(1 / 3)
    # hit@5: q1 yes, q2 yes (B at rank 3), q3 no -> 2/3
    assert m["hit@5"] == pytest.approx(2 / 3)
    # recall@5: q1 1/1, q2 1/2 (B in top 5, A at rank 6), q3 0/1 -> 1.5/3 = 0.5
    assert m["recall@5"] == pytest.approx(0.5)
    # recall@10: q1 1, q2 2/2, q3 0 -> 2/3
    assert m["recall@10"] == pytest.approx(2 / 3)
    # MRR@10: q1 1/1, q2 1/3 (first gold, B, at rank 3), q3 0 -> (4/3)/3 = 4/9
    assert m["mrr@10"] == pytest.approx(4 / 9)


def test_answer_containment_normalises_and_counts_abstentions_as_wrong() -> None:
    assert normalize_answer("  It is the  CAFÉ-Müller, in Paris [1]! ") == "it is the cafemuller in paris 1"
    assert normalize_answer("“Ångström” — naïve…") == "angstrom naive"
    assert contains_answer("It is the  CAFE Müller, in Paris [1].", ["Café Müller"])
    assert not contains_answer("The bridge is 300m long.", ["300 m"])
    assert not contains_answer("anything", ["", "..."])  # empty accepted answers never match
    m = metrics_from_records(make_records(), TEXTS)
    # q1 right; q2 wrong ("300m"); q3 abstained, so wrong although its text says "bridge" -> 1/3
    assert m["answer_containment"] == pytest.approx(1 / 3)


def test_abstention_precision_and_recall() -> None:
    records = make_records()
    m = metrics_from_records(records, TEXTS)
    # abstained: q3 (answerable), q4 (unanswerable); unanswerable: q4, q5
    # precision = |{q4}| / |{q3, q4}| = 1/2; recall = |{q4}| / |{q4, q5}| = 1/2
    assert m["n_abstained"] == 2
    assert m["abstention_precision"] == pytest.approx(0.5)
    assert m["abstention_recall"] == pytest.approx(0.5)
    # q3 and q4 alone: precision 1/2 (q3 is answerable), recall 1/1
    assert abstention_precision(records[2:4]) == pytest.approx(0.5)
    assert abstention_recall(records[2:4]) == pytest.approx(1.0)
    # q1 and q2 alone: nothing abstained and nothing unanswerable -> both undefined
    assert abstention_precision(records[:2]) is None
    assert abstention_recall(records[:2]) is None


def test_citation_metrics() -> None:
    m = metrics_from_records(make_records(), TEXTS)
    # citations: q1 1 verbatim; q2 1 verbatim + 1 not; q5 1 verbatim -> 3/4
    assert m["n_citations"] == 4
    assert m["citation_verbatim_rate"] == pytest.approx(0.75)
    # answered answerable questions: q1 cites gold A, q2 cites only C -> 1/2 (q5 is unanswerable: left out)
    assert m["cited_gold_rate"] == pytest.approx(0.5)
    # a citation of an article we do not know is never verbatim: q1's citation alone -> 0
    assert metrics_from_records(make_records()[:1], {})["citation_verbatim_rate"] == 0.0


def test_latency_percentiles() -> None:
    m = metrics_from_records(make_records(), TEXTS)
    # totals 10, 20, 30, 40, 100: p50 is the middle one; p95 at position 4 * 0.95 = 3.8 -> 40 + 0.8 * 60 = 88
    assert m["latency_p50_ms"] == pytest.approx(30.0)
    assert m["latency_p95_ms"] == pytest.approx(88.0)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([], 50) is None


def test_metrics_per_question_type() -> None:
    by_type = metrics_from_records(make_records(), TEXTS)["by_type"]
    assert sorted(by_type) == ["comparison_query", "inference_query", "null_query"]

    inference = by_type["inference_query"]  # q1 only
    assert inference["n_questions"] == 1
    assert inference["hit@1"] == 1.0 and inference["answer_containment"] == 1.0
    assert inference["abstention_precision"] is None  # nothing abstained

    comparison = by_type["comparison_query"]  # q2, q3
    assert comparison["hit@1"] == 0.0
    assert comparison["hit@5"] == pytest.approx(0.5)  # q2 yes, q3 no
    assert comparison["recall@5"] == pytest.approx(0.25)  # (1/2 + 0) / 2
    assert comparison["mrr@10"] == pytest.approx(1 / 6)  # (1/3 + 0) / 2
    assert comparison["answer_containment"] == 0.0
    assert comparison["abstention_precision"] == 0.0  # q3 abstained on an answerable question
    assert comparison["abstention_recall"] is None  # no unanswerable question of this type

    null = by_type["null_query"]  # q4, q5
    assert null["hit@1"] is None and null["answer_containment"] is None  # no answerable question
    assert null["abstention_precision"] == 1.0  # q4
    assert null["abstention_recall"] == pytest.approx(0.5)  # q4 of q4, q5
    assert null["citation_verbatim_rate"] == 1.0  # q5's one citation


def test_records_without_type_have_no_breakdown() -> None:
    records = make_records()
    for record in records:
        record.type = None
    assert metrics_from_records(records, TEXTS)["by_type"] == {}


def test_predictions_file_round_trip(tmp_path: Path) -> None:
    records = make_records()
    path = tmp_path / "predictions.jsonl"
    write_predictions(path, records)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5
    again = read_predictions(path)
    assert again == records
    assert metrics_from_records(again, TEXTS) == metrics_from_records(records, TEXTS)


def test_format_report_is_side_by_side() -> None:
    m = metrics_from_records(make_records(), TEXTS)
    plain = metrics_from_records(make_records()[:2], TEXTS)
    report = format_report(m, plain)
    header = report.splitlines()[0]
    assert "metric" in header and "newsdesk" in header and "plain" in header
    assert any(line.startswith("hit@1") and "0.333" in line for line in report.splitlines())
    assert "type: null_query" in report and "n/a" in report
    assert "plain" not in format_report(m).splitlines()[0]


SQUAD = Path("/work/shared/eval/squad2-dev")


@pytest.mark.skipif(not SQUAD.is_dir(), reason="the shared eval sets are not on this machine")
def test_run_eval_on_squad2_dev(tmp_path: Path) -> None:
    metrics, records, index_seconds = run_eval(SQUAD, Settings(db=tmp_path / "idx"), limit=20)
    assert len(records) == metrics["n_questions"] == 20
    assert index_seconds > 0
    fractions = [
        "hit@1",
        "hit@5",
        "recall@5",
        "recall@10",
        "mrr@10",
        "answer_containment",
        "abstention_precision",
        "abstention_recall",
        "citation_verbatim_rate",
        "cited_gold_rate",
    ]
    for name in fractions:
        assert metrics[name] is None or 0.0 <= metrics[name] <= 1.0, name
    assert metrics["citation_verbatim_rate"] == 1.0
    assert metrics["hit@1"] > 0.5
    assert all(len(r.retrieved_urls) <= 10 for r in records)
    # the predictions file alone reproduces every metric
    path = tmp_path / "predictions.jsonl"
    write_predictions(path, records)
    texts: dict[str, str] = {}
    with (SQUAD / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            texts[article["url"]] = article["text"]
    recomputed = metrics_from_records(read_predictions(path), texts)
    assert recomputed == {k: v for k, v in metrics.items() if k != "index_seconds"}
