"""A real eval run: index a shared set into a fresh index, ask, score, and reproduce from predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.config import Settings
from newsdesk.eval.metrics import metrics_from_records
from newsdesk.eval.records import read_predictions, write_predictions
from newsdesk.eval.run import run_eval

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
