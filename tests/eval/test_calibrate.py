"""The fitting behind ``rag/answer/model.json``: a logistic fit, a threshold for a precision target,
and folds that keep questions about one article together."""

from __future__ import annotations

import numpy as np

from newsdesk.eval.calibrate import (
    Item,
    article_groups,
    candidate_rows,
    fit_logistic,
    fit_softmax,
    folds_of,
    pick_threshold,
)
from newsdesk.eval.dump import documents_of
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.answer.model import ReaderModel
from tests.rag.answer.conftest import doc


def test_the_logistic_fit_separates_and_the_threshold_meets_the_precision_target() -> None:
    rng = np.random.default_rng(0)
    signal = np.r_[rng.normal(1.0, 1.0, 200), rng.normal(-1.0, 1.0, 200)]
    x = np.c_[np.ones(400), signal]
    y = np.r_[np.ones(200), np.zeros(200)]
    w = fit_logistic(x, y)
    assert w[1] > 0.5
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    threshold = pick_threshold(p, y.astype(bool), 0.9)
    abstain = p < threshold
    assert abstain.sum() >= 5 and (y[abstain] == 0).mean() >= 0.9


def test_questions_sharing_a_gold_article_fall_in_one_fold() -> None:
    rows = [
        {"id": "1", "gold_urls": ["a", "b"]},
        {"id": "2", "gold_urls": ["b"]},
        {"id": "3", "gold_urls": ["c"]},
        {"id": "4", "gold_urls": []},
    ]
    items = [Item("set", row) for row in rows]
    article_groups(items)
    assert items[0].group == items[1].group != items[2].group
    folds = folds_of(items, 2)
    assert folds[0] == folds[1]


def test_the_softmax_fit_learns_which_feature_marks_the_right_candidate() -> None:
    # Each question: five candidates; the right one has the higher first feature (noisy), the second
    # feature is noise. The fitted weights must rank by the first and ignore the second.
    rng = np.random.default_rng(1)
    questions = []
    for _ in range(200):
        x = rng.normal(0.0, 1.0, (5, 2))
        right = int(rng.integers(5))
        x[right, 0] += 2.0
        y = np.zeros(5)
        y[right] = 1.0
        questions.append((x, y))
    w = fit_softmax(questions, l2=1.0)
    assert w[0] > 1.0 > abs(w[1]) * 3
    hits = sum(int(np.argmax(x @ w)) == int(np.argmax(y)) for x, y in questions)
    assert hits / len(questions) > 0.6


def test_questions_with_a_quiz_date_are_folded_by_week() -> None:
    rows = [
        {"id": "1", "gold_urls": ["a"], "date": "2024-01-05"},
        {"id": "2", "gold_urls": ["b"], "date": "2024-01-05"},
        {"id": "3", "gold_urls": ["a"], "date": "2024-01-12"},
    ]
    items = [Item("quiz", row) for row in rows]
    article_groups(items)
    assert items[0].group == items[1].group != items[2].group


def test_when_no_candidate_is_the_answer_the_one_whose_lead_states_it_is_the_right_one() -> None:
    """The ranker learns what the metric counts: a lead that holds the answer, even when the answer
    ("international students") is no name that could be a candidate."""
    text = (
        "International students made up 19% of the student body this spring, the University of "
        "Chicago said.\n\nThe dean, Maria Lopez, welcomed a record class of freshmen from Ohio."
    )
    passage = doc(text, title="A record spring", url="https://example.test/u")
    row = {
        "id": "1",
        "question": "Who made up 19% of the student body this spring?",
        "answers": ["international students"],
        "answerable": True,
        "documents": [{"page_content": passage.page_content, "metadata": passage.metadata}],
    }
    answerer = ExtractiveAnswerer(model=ReaderModel())
    [(features, right)] = candidate_rows(answerer, [Item("set", row)])
    reading = answerer.read(row["question"], documents_of(row))
    keys = [g.key for g in sorted(reading.groups, key=lambda g: g.score, reverse=True)]
    assert features.shape[0] == len(keys) >= 2
    said = {k: bool(r) for k, r in zip(keys, right, strict=True)}
    assert said["university of chicago"] and not said["maria lopez"], said  # the lead of the first sentence
