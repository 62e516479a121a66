"""Metrics are pure functions of prediction records; the numbers here are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.eval.metrics import (
    abstention_precision,
    abstention_recall,
    answer_words,
    citation_is_verbatim,
    contains_answer,
    contains_substring,
    lead_of,
    median,
    metrics_from_records,
    normalize_answer,
    percentile,
    yes_no_correct,
    yes_no_gold,
)
from newsdesk.eval.records import read_predictions, write_predictions
from tests.eval.sample import TEXTS, A, C, make_records


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
    assert normalize_answer("  It is the  CAFÉ-Müller, in Paris [1]! ") == "it is the cafe muller in paris 1"
    assert normalize_answer("“Ångström” — naïve…") == "angstrom naive"


def test_punctuation_is_a_space_so_a_possessive_holds_the_name() -> None:
    assert contains_answer("Google’s new phone [1]", ["Google"])
    assert contains_answer("Australia's capital", ["Australia"])
    assert contains_answer("the U.S. said", ["U.S."])
    assert not contains_answer("announced [1]", ["no"])
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


def test_whole_word_containment_does_not_match_inside_words() -> None:
    assert contains_answer("It was announced today.", ["announced"])
    assert not contains_answer("It was announced today.", ["no"])
    assert contains_substring("It was announced today.", ["no"])  # the older check did match
    assert contains_answer("Sam Bankman-Fried was convicted.", ["Sam Bankman-Fried"])
    assert not contains_answer("anything", [""])


def test_lead_is_the_text_before_the_first_marker() -> None:
    assert lead_of("Google. [1][2] Google makes deals [1]") == "Google. "
    assert lead_of("No marker at all") == "No marker at all"


def test_yes_no_needs_the_right_word_and_not_the_other() -> None:
    assert yes_no_gold(["Yes"]) == "yes"
    assert yes_no_gold(["Google"]) is None
    assert yes_no_correct("Yes. ", "yes")
    assert not yes_no_correct("Yes, no doubt. ", "yes")
    assert not yes_no_correct("Yesterday it rained. ", "yes")
    assert yes_no_correct("No. ", "no")


def test_answer_words_leave_markers_out() -> None:
    assert answer_words("One two [1] three [2][3]") == 3


def test_median_and_percentile() -> None:
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 4]) == 2.5
    assert median([]) is None


def test_citation_verbatim_checks_the_field_and_the_answer_span() -> None:
    texts = {"u": "Body text with $48 million inside."}
    titles = {"u": "Headline: $2 billion deal"}
    good = {"url": "u", "quote": "$48 million", "start": 15, "end": 26}
    assert citation_is_verbatim(good, texts, titles)
    assert not citation_is_verbatim({**good, "start": 14}, texts, titles)
    title = {"url": "u", "field": "title", "quote": "$2 billion", "start": 10, "end": 20}
    assert citation_is_verbatim(title, texts, titles)
    assert not citation_is_verbatim({**title, "field": "text"}, texts, titles)
    with_span = {
        "url": "u", "quote": "Body text with $48 million inside.", "start": 0, "end": 34,
        "answer_span": {"start": 15, "end": 26, "text": "$48 million"},
    }  # fmt: skip
    assert citation_is_verbatim(with_span, texts, titles)
    outside = {**with_span, "answer_span": {"start": 15, "end": 40, "text": "x"}}
    assert not citation_is_verbatim(outside, texts, titles)
