"""Fit the answer step's abstention model on an eval set, with honest 2-fold cross-validation.

Usage::

    python -m newsdesk.eval.calibrate /work/shared/eval/squad2-dev [--db DIR] [--target-precision 0.8]

It indexes the set's articles (into a temporary folder unless ``--db`` is given), retrieves the
passages of every question with the configured retriever, computes ``rag.answer.abstention_features``
and fits a logistic model of "the evidence answers the question" (L2-regularised, Newton's method).

Held-out numbers: the questions are split in two folds by gold article (questions about one
paragraph stay together); the model and its threshold (the highest recall of unanswerable questions
whose abstention precision on the training fold reaches ``--target-precision``) are fitted on one
fold and measured on the other, and vice versa. The weights it prints are then fitted on the whole
set, with the bias shifted so that ``min_score`` (default 0.40) is the chosen operating point;
paste them into ``newsdesk/rag/answer.py`` as ``ABSTAIN_WEIGHTS``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from newsdesk.rag.answer import FEATURE_NAMES, ExtractiveAnswerer


@dataclass
class Sample:
    """One question's evidence features, with its truth."""

    features: np.ndarray
    answerable: bool
    group: str


def collect(
    answerer: ExtractiveAnswerer, items: Sequence[tuple[dict[str, object], Sequence[Document]]]
) -> list[Sample]:
    """Features of every (question record, retrieved documents) pair that yields any sentence."""
    samples: list[Sample] = []
    for record, documents in items:
        assessed = answerer.assess(str(record["question"]).strip(), documents)
        if assessed.features is None:
            continue
        gold = record.get("gold_urls") or [record["id"]]
        assert isinstance(gold, list)
        samples.append(Sample(assessed.features, bool(record.get("answerable", True)), str(gold[0])))
    return samples


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Weights of P(y=1) = sigmoid(x @ w); column 0 of ``x`` is the bias (not penalised).

    The other columns are standardised while fitting (so one ``l2`` suits them all), and the
    returned weights apply to the raw features.
    """
    mean = x[:, 1:].mean(axis=0)
    scale = x[:, 1:].std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x[:, 1:] - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.r_[0.0, np.full(z.shape[1] - 1, l2)]
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return np.r_[w[0] - float((w[1:] * mean / scale).sum()), w[1:] / scale]


def probabilities(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))


def abstention_scores(
    answerable_p: np.ndarray, answerable: np.ndarray, threshold: float
) -> tuple[float, float, int]:
    """(precision, recall, answerable questions refused) of abstaining when P(answerable) < threshold."""
    abstain = answerable_p < threshold
    right = int((abstain & ~answerable).sum())
    precision = right / int(abstain.sum()) if abstain.any() else float("nan")
    recall = right / max(1, int((~answerable).sum()))
    return precision, recall, int((abstain & answerable).sum())


def pick_threshold(answerable_p: np.ndarray, answerable: np.ndarray, target_precision: float) -> float:
    """The threshold with the highest abstention recall whose precision reaches the target.

    Thresholds whose abstentions are too few to judge (under 5) are skipped; when none reaches the
    target, the most precise one is taken.
    """
    best: tuple[float, float] | None = None
    fallback: tuple[float, float] = (-1.0, 0.0)
    for threshold in np.unique(answerable_p):
        cut = float(threshold) + 1e-12
        precision, recall, _ = abstention_scores(answerable_p, answerable, cut)
        if int((answerable_p < cut).sum()) < 5 or math.isnan(precision):
            continue
        if precision >= target_precision and (best is None or recall > best[1]):
            best = (cut, recall)
        if precision > fallback[0]:
            fallback = (precision, cut)
    return best[0] if best is not None else fallback[1]


def split_folds(groups: Sequence[str], folds: int = 2, seed: int = 0) -> np.ndarray:
    """A fold number per sample; samples of one group share a fold."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: rank % folds for rank, i in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


def cross_validate(
    samples: Sequence[Sample], target_precision: float, l2: float = 1.0, folds: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out P(answerable) and held-out abstention decisions for every sample."""
    x = np.array([s.features for s in samples])
    y = np.array([s.answerable for s in samples])
    fold = split_folds([s.group for s in samples], folds)
    held_p = np.zeros(len(samples))
    held_abstain = np.zeros(len(samples), dtype=bool)
    for k in range(folds):
        train, test = fold != k, fold == k
        w = fit_logistic(x[train], y[train].astype(float), l2)
        threshold = pick_threshold(probabilities(x[train], w), y[train], target_precision)
        held_p[test] = probabilities(x[test], w)
        held_abstain[test] = held_p[test] < threshold
    return held_p, held_abstain


def shifted_weights(w: np.ndarray, threshold: float, min_score: float) -> np.ndarray:
    """``w`` with its bias moved so that P(answerable) < ``min_score`` means P < ``threshold`` before."""

    def logit(p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p))

    shifted = w.copy()
    shifted[0] += logit(min_score) - logit(threshold)
    return shifted


def retrieved(data_dir: Path, db: Path | None) -> list[tuple[dict[str, object], list[Document]]]:
    """Index the set (idempotent) and retrieve every question's passages as Newsdesk would."""
    from newsdesk.config import Settings
    from newsdesk.eval.records import load_eval_articles, load_questions
    from newsdesk.wiring import Newsdesk

    with tempfile.TemporaryDirectory(prefix="newsdesk-calibrate-") as tmp:
        desk = Newsdesk(Settings(db=db or Path(tmp) / "index"))
        desk.indexer.index_articles(load_eval_articles(data_dir))
        return [
            (record, desk.qa.retriever.invoke(str(record["question"]).strip()))
            for record in load_questions(data_dir)
        ]


def report(samples: Sequence[Sample], target_precision: float, min_score: float, l2: float = 1.0) -> str:
    """Held-out numbers and the full-set weights, as text."""
    x = np.array([s.features for s in samples])
    y = np.array([s.answerable for s in samples])
    held_p, held_abstain = cross_validate(samples, target_precision, l2)
    right = int((held_abstain & ~y).sum())
    lines = [
        f"{len(samples)} questions ({int(y.sum())} answerable, {int((~y).sum())} unanswerable)",
        "held-out (2-fold by article, threshold chosen on the training fold):",
        f"  abstained {int(held_abstain.sum())}: precision "
        f"{right / max(1, int(held_abstain.sum())):.3f}, recall {right / max(1, int((~y).sum())):.3f}, "
        f"answerable refused {int((held_abstain & y).sum())}",
        "held-out curve (threshold on P(answerable): precision, recall, answerable refused):",
    ]
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
        precision, recall, refused = abstention_scores(held_p, y, threshold)
        lines.append(f"  {threshold:.2f}: {precision:.3f} {recall:.3f} {refused}")
    w = fit_logistic(x, y.astype(float), l2)
    threshold = pick_threshold(probabilities(x, w), y, target_precision)
    precision, recall, refused = abstention_scores(probabilities(x, w), y, threshold)
    final = shifted_weights(w, threshold, min_score)
    lines += [
        f"full set: threshold {threshold:.3f} -> precision {precision:.3f}, recall {recall:.3f}, "
        f"answerable refused {refused} (in-sample)",
        "ABSTAIN_WEIGHTS_BY_NAME = {",
        *(f'    "{name}": {v:.4f},' for name, v in zip(FEATURE_NAMES, final, strict=True)),
        "}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsdesk.eval.calibrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("dir", type=Path, help="eval set folder (articles.jsonl, questions.jsonl)")
    parser.add_argument("--db", type=Path, help="index folder to reuse (default: a temporary one)")
    parser.add_argument("--target-precision", type=float, default=0.8)
    parser.add_argument("--min-score", type=float, default=0.40)
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args(argv)
    samples = collect(ExtractiveAnswerer(None), retrieved(args.dir, args.db))
    print(report(samples, args.target_precision, args.min_score, args.l2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
