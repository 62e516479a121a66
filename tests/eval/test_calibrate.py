"""The fitting behind ``rag/answer/model.json``: a logistic fit, a threshold for a precision target,
and folds that keep questions about one article together."""

from __future__ import annotations

import numpy as np

from newsdesk.eval.calibrate import Item, article_groups, fit_logistic, folds_of, pick_threshold


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
