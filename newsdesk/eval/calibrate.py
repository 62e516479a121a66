"""Fit the answer step's numbers (``newsdesk/rag/answer/model.json``) and report them cross-validated.

Usage::

    python -m newsdesk.eval.calibrate /work/shared/eval/squad2-dev /work/shared/eval/multihop-news \
        [--dumps DIR] [--folds 3] [--target-precision 0.85]

Each set's retrieval is dumped first (``eval.dump``; reused from ``--dumps`` when there). What is
fitted, in order (each step reads with the previous steps' result):

1. **sentence ranker** (only with ``--fit-sentences``; by default the hand-set
   ``spans.DEFAULT_SENTENCE_WEIGHTS`` are kept: fitted weights gained on the shared sets and lost on
   held-out news): logistic regression of "this sentence holds an accepted answer";
2. **yes/no support threshold**: the claim-support level under which a claim counts as unsupported,
   chosen for the best balanced accuracy (mean of the yes and the no questions' accuracy);
3. **abstention**: logistic regression of "the question is answerable" over ``abstain.FEATURES``;
   the threshold is the one with the most unanswerable questions caught whose abstentions are at
   least ``--target-precision`` right, on the training questions.

Cross-validation: questions are split into ``--folds`` folds by article (questions whose gold
articles overlap stay in one fold), each fold is answered by a model fitted on the others, and the
eval metrics are computed on those held-out answers. The model written to ``--out`` is then fitted on
all questions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.config import Settings
from newsdesk.eval.dump import documents_of, dump_retrieval, load_dump
from newsdesk.eval.metrics import Metrics, contains_answer, metrics_from_records, yes_no_gold
from newsdesk.eval.records import PredictionRecord, citation_record, load_eval_articles
from newsdesk.rag.answer import rank
from newsdesk.rag.answer.abstain import FEATURES as ABSTAIN_FEATURES
from newsdesk.rag.answer.answerer import ExtractiveAnswerer
from newsdesk.rag.answer.model import DEFAULT_PATH, ReaderModel
from newsdesk.rag.answer.question import NAME_TYPES
from newsdesk.rag.answer.spans import SENTENCE_FEATURES
from newsdesk.rag.types import Answer
from newsdesk.rag.verify import reconcile

CANDIDATE_FEATURES = tuple(name for name in rank.FEATURES if name != "bias")


@dataclass
class Item:
    """One dumped question, with its set's name and its CV group."""

    set: str
    row: dict[str, Any]
    group: str = ""


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 60) -> np.ndarray:
    """Weights of P(y=1) = sigmoid(x @ w); column 0 of ``x`` is the (unpenalised) bias.

    The other columns are standardised while fitting, so one ``l2`` suits them all; the returned
    weights apply to the raw features.
    """
    mean = x[:, 1:].mean(axis=0)
    scale = x[:, 1:].std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x[:, 1:] - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.r_[0.0, np.full(z.shape[1] - 1, l2)]
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return np.r_[w[0] - float((w[1:] * mean / scale).sum()), w[1:] / scale]


def fit_softmax(questions: Sequence[tuple[np.ndarray, np.ndarray]], l2: float = 1.0) -> np.ndarray:
    """Weights of a conditional logit: P(candidate i of a question) = softmax(x_i @ w) over that
    question's candidates, fitted to the share of its right candidates (``questions``: one (x, y) per
    question, y > 0 on the right ones). No bias (it cancels). Features are standardised while fitting,
    so one ``l2`` suits them all; the returned weights apply to the raw features."""
    from scipy.optimize import minimize

    every = np.vstack([x for x, _ in questions])
    mean, scale = every.mean(axis=0), every.std(axis=0)
    scale[scale < 1e-9] = 1.0
    data = [((x - mean) / scale, y / y.sum()) for x, y in questions if y.sum() > 0]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = 0.5 * l2 * float(w @ w), l2 * w
        for z, target in data:
            v = z @ w
            log_p = v - v.max()
            log_p -= np.log(np.exp(log_p).sum())
            value -= float(target @ log_p)
            gradient = gradient - z.T @ (target - np.exp(log_p))
        return value, gradient

    w = minimize(loss, np.zeros(every.shape[1]), jac=True, method="L-BFGS-B").x
    return np.asarray(w / scale)


def article_groups(items: Sequence[Item]) -> None:
    """Set ``item.group``: questions whose gold articles overlap share a group (union-find); a question
    with a ``date`` (a weekly news quiz's) is grouped by its week instead, so a fold never holds
    another question about the same week's news as its training questions."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for item in items:
        urls = [f"{item.set}:{u}" for u in item.row.get("gold_urls") or []] or [
            f"{item.set}:q:{item.row['id']}"
        ]
        for u in urls[1:]:
            parent[find(u)] = find(urls[0])
        item.group = urls[0]
    for item in items:
        item.group = find(item.group)
        if item.row.get("date"):
            item.group = f"week:{item.row['date']}"  # one week of news, whichever set asks


def folds_of(items: Sequence[Item], folds: int, seed: int = 0) -> np.ndarray:
    groups = sorted({i.group for i in items})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[j]: rank % folds for rank, j in enumerate(order)}
    return np.array([fold_of[i.group] for i in items])


def _question(item: Item) -> str:
    return str(item.row["question"]).strip()


def fit_sentences(answerer: ExtractiveAnswerer, items: Sequence[Item], l2: float) -> dict[str, float]:
    """The sentence ranker's weights, fitted on the answerable non-yes/no questions of ``items``."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for item in items:
        row = item.row
        if not row.get("answerable", True) or yes_no_gold(row.get("answers", [])):
            continue
        reading = answerer.read(_question(item), documents_of(row))
        if reading.question.answer_type in ("yesno", "choice") or not reading.sentences:
            continue
        labels = [contains_answer(s.text, row["answers"]) for s in reading.sentences]
        if not any(labels):
            continue
        for s, label in zip(reading.sentences, labels, strict=True):
            xs.append([s.features[name] for name in SENTENCE_FEATURES])
            ys.append(float(label))
    w = fit_logistic(np.array(xs), np.array(ys), l2)
    return {name: round(float(v), 4) for name, v in zip(SENTENCE_FEATURES, w, strict=True)}


def candidate_rows(
    answerer: ExtractiveAnswerer, items: Sequence[Item]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (features, is right) pair of arrays per answerable question with several answer groups,
    read by ``answerer`` (whose own candidate weights do not change the features). A group is right
    when it is the answer or, if none is, when the lead it would be stated in holds the answer."""
    out = []
    for item in items:
        row = item.row
        if not row.get("answerable", True) or yes_no_gold(row.get("answers", [])):
            continue
        reading = answerer.read(_question(item), documents_of(row))
        if len(reading.groups) < 2 or reading.question.answer_type not in NAME_TYPES:
            continue
        groups = sorted(reading.groups, key=lambda g: g.score, reverse=True)  # the hand-set order
        answers = row["answers"]
        right = [
            contains_answer(g.key, answers) or any(contains_answer(s.text, answers) for s in g.spans)
            for g in groups
        ]
        if not any(right):
            # No group is the answer: right are those whose lead would state it anyway (the sentence
            # that restates the question, led by another of its names), as the metric counts it.
            right = [contains_answer(answerer.lead_of(reading.question, g)[1].text, answers) for g in groups]
        if not any(right):
            continue
        features = rank.features_of(reading.question, groups)
        x = np.array([[f[name] for name in CANDIDATE_FEATURES] for f in features])
        out.append((x, np.array([float(r) for r in right])))
    return out


def fit_candidates(answerer: ExtractiveAnswerer, items: Sequence[Item], l2: float) -> dict[str, float]:
    """The candidate ranker's weights, fitted on ``items``' name questions."""
    w = fit_softmax(candidate_rows(answerer, items), l2)
    return {name: round(float(v), 4) for name, v in zip(CANDIDATE_FEATURES, w, strict=True)}


def fit_support(answerer: ExtractiveAnswerer, items: Sequence[Item]) -> float:
    """The claim-support threshold with the best balanced yes/no accuracy on ``items``."""
    rows: list[tuple[str, float, bool]] = []
    for item in items:
        gold = yes_no_gold(item.row.get("answers", []))
        if not gold:
            continue
        reading = answerer.read(_question(item), documents_of(item.row))
        verdict = reading.verdict
        if verdict is None:
            continue
        other = verdict.reason not in ("every claim is supported", "a claim is not supported by its article")
        rows.append((gold, verdict.support, other))
    best, best_value = 0.0, -1.0
    for threshold in np.arange(0.0, 0.61, 0.05):
        said_yes = [(g, not other and support >= threshold) for g, support, other in rows]
        yes = [s for g, s in said_yes if g == "yes"]
        no = [not s for g, s in said_yes if g == "no"]
        value = (sum(yes) / max(1, len(yes)) + sum(no) / max(1, len(no))) / 2
        if value > best_value + 1e-9:
            best, best_value = float(threshold), value
    return round(best, 2)


def fit_abstain(
    answerer: ExtractiveAnswerer, items: Sequence[Item], l2: float, target_precision: float
) -> tuple[dict[str, float], float]:
    """Abstention weights and threshold fitted on ``items``."""
    xs, ys = [], []
    for item in items:
        reading = answerer.read(_question(item), documents_of(item.row))
        xs.append([reading.features.get(name, 0.0) for name in ABSTAIN_FEATURES])
        ys.append(float(bool(item.row.get("answerable", True))))
    x, y = np.array(xs), np.array(ys)
    w = fit_logistic(x, y, l2)
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
    threshold = pick_threshold(p, y.astype(bool), target_precision)
    return {name: round(float(v), 4) for name, v in zip(ABSTAIN_FEATURES, w, strict=True)}, threshold


def pick_threshold(p: np.ndarray, answerable: np.ndarray, target_precision: float) -> float:
    """The threshold catching the most unanswerable questions with abstention precision >= target."""
    best: tuple[float, float] | None = None
    for t in np.unique(p):
        cut = float(t) + 1e-9
        abstain = p < cut
        if abstain.sum() < 5:
            continue
        precision = float((abstain & ~answerable).sum() / abstain.sum())
        recall = float((abstain & ~answerable).sum() / max(1, (~answerable).sum()))
        if precision >= target_precision and (best is None or recall > best[1]):
            best = (cut, recall)
    return round(best[0], 4) if best else 0.0


def fit(
    items: Sequence[Item],
    l2: float,
    target_precision: float,
    sentences: bool = False,
    candidates: bool = False,
    base: ReaderModel | None = None,
) -> ReaderModel:
    """The yes/no threshold and the abstention model on ``items`` (and the sentence and candidate
    rankers if asked). Given a ``base`` model, only the candidate ranker is fitted and the rest is
    kept from it (abstention fitted where questions can be unanswerable, the ranker on more news)."""
    if base is not None:
        kept = dataclasses.replace(base, candidate_weights=None, meta=dict(base.meta))
        return dataclasses.replace(
            kept, candidate_weights=fit_candidates(ExtractiveAnswerer(model=kept), items, l2)
        )
    model = ReaderModel()
    answerer = ExtractiveAnswerer(model=model)
    if sentences:
        model.sentence_weights = fit_sentences(answerer, items, l2)
    if candidates:
        model.candidate_weights = fit_candidates(answerer, items, l2)
    model.support_threshold = fit_support(answerer, items)
    model.abstain_weights, model.threshold = fit_abstain(answerer, items, l2, target_precision)
    return model


def cross_validate(
    items: Sequence[Item],
    folds: int,
    l2: float,
    target_precision: float,
    sentences: bool = False,
    candidates: bool = False,
    base: ReaderModel | None = None,
) -> tuple[list[tuple[Item, Answer]], list[ReaderModel]]:
    """Held-out answers of every item, each from a model fitted on the other folds."""
    fold = folds_of(items, folds)
    out: list[tuple[Item, Answer]] = []
    models = []
    for k in range(folds):
        train = [i for i, f in zip(items, fold, strict=True) if f != k]
        test = [i for i, f in zip(items, fold, strict=True) if f == k]
        model = fit(train, l2, target_precision, sentences, candidates, base)
        models.append(model)
        answerer = ExtractiveAnswerer(model=model)
        out += [(i, answerer.answer(_question(i), documents_of(i.row))) for i in test]
    return out, models


def record_of(item: Item, answer: Answer) -> PredictionRecord:
    """A held-out answer as an eval record (retrieval fields left empty: only answers are scored)."""
    answer = reconcile(answer)
    row = item.row
    return PredictionRecord(
        id=str(row["id"]),
        question=str(row["question"]),
        type=row.get("type"),
        answerable=bool(row.get("answerable", True)),
        gold_urls=[str(u) for u in row.get("gold_urls") or []],
        answers=[str(a) for a in row.get("answers") or []],
        answer=answer.answer,
        abstained=answer.abstained,
        retrieved_urls=[],
        cited_urls=list(dict.fromkeys(c.url for c in answer.citations)),
        citations=[citation_record(c) for c in answer.citations],
    )


SUMMARY = (
    "lead_containment",
    "answer_containment",
    "yes_no_accuracy",
    "yes_accuracy",
    "no_accuracy",
    "answerable_refused",
    "unanswerable_refused",
    "abstention_precision",
    "abstention_recall",
    "median_answer_words",
    "citation_verbatim_rate",
)


def summary(metrics: Metrics) -> dict[str, float | None]:
    return {k: None if metrics.get(k) is None else round(float(metrics[k]), 4) for k in SUMMARY}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsdesk.eval.calibrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "sets", type=Path, nargs="+", help="eval set folders (articles.jsonl, questions.jsonl)"
    )
    parser.add_argument(
        "--dumps", type=Path, help="folder for the retrieval dumps (default: a temporary one)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--target-precision", type=float, default=0.85)
    parser.add_argument("--no-cv", action="store_true")
    parser.add_argument("--fit-sentences", action="store_true", help="also fit the sentence ranker")
    parser.add_argument("--fit-candidates", action="store_true", help="also fit the candidate ranker")
    parser.add_argument(
        "--indexes",
        type=Path,
        help="folder holding an index per set (DIR/<set name>), kept between runs; default: fresh ones",
    )
    parser.add_argument(
        "--candidates-only",
        action="store_true",
        help="fit only the candidate ranker on the sets, keeping the rest of --out's model",
    )
    args = parser.parse_args(argv)
    base = ReaderModel.load(args.out) if args.candidates_only else None
    with tempfile.TemporaryDirectory(prefix="newsdesk-calibrate-") as scratch:
        folder = args.dumps or Path(scratch)
        items: list[Item] = []
        for data_dir in args.sets:
            path = folder / f"{data_dir.name}.jsonl"
            if not path.exists():
                settings = Settings(db=args.indexes / data_dir.name) if args.indexes else None
                dump_retrieval(data_dir, path, settings)
            items += [Item(data_dir.name, row) for row in load_dump(path)]
    article_groups(items)
    report: dict[str, Any] = {}
    if not args.no_cv:
        held, models = cross_validate(
            items,
            args.folds,
            args.l2,
            args.target_precision,
            args.fit_sentences,
            args.fit_candidates or args.candidates_only,
            base,
        )
        for data_dir in args.sets:
            articles = load_eval_articles(data_dir)
            mine = [(i, a) for i, a in held if i.set == data_dir.name]
            records = [record_of(i, a) for i, a in mine]
            metrics = metrics_from_records(
                records, {a.url: a.text for a in articles}, {a.url: a.title for a in articles}
            )
            report[data_dir.name] = summary(metrics)
            print(
                f"== {data_dir.name}: held out ({args.folds} folds: by week for quiz questions, by article"
                " for others)"
            )
            print(json.dumps(report[data_dir.name], indent=1))
            print("held-out abstention curve (threshold: precision, recall, answerable refused):")
            nulls = sum(not i.row.get("answerable", True) for i, _ in mine)
            answerable = len(mine) - nulls
            for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                refused = [i for i, a in mine if (a.confidence if a.confidence is not None else 1.0) < t]
                right = sum(not i.row.get("answerable", True) for i in refused)
                print(
                    f"  {t:.2f}: {right / max(1, len(refused)):.3f} {right / max(1, nulls):.3f} "
                    f"{(len(refused) - right) / max(1, answerable):.3f}"
                )
        print(
            "fold thresholds:",
            [m.threshold for m in models],
            "support:",
            [m.support_threshold for m in models],
        )
    model = fit(items, args.l2, args.target_precision, args.fit_sentences, args.fit_candidates, base)
    about = {
        "fitted_on": [p.name for p in args.sets],
        "questions": len(items),
        "l2": args.l2,
        "cross_validated": report,
        "folds": args.folds,
        "folded_by": "week (quiz questions), article (others)",
    }
    if base is not None:
        model.meta["candidates"] = about
    else:
        model.meta = {**about, "target_precision": args.target_precision}
    model.save(args.out)
    print(f"wrote {args.out}: threshold {model.threshold}, support threshold {model.support_threshold}")
    print("sentence weights:", json.dumps(model.sentence_weights) if model.sentence_weights else "hand-set")
    fitted = model.candidate_weights
    print("candidate weights:", json.dumps(fitted) if fitted else "hand-set")
    print(json.dumps(model.abstain_weights))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
