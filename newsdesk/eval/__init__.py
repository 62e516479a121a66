"""Evaluation harness: run Newsdesk (or a plain LangChain pipeline) over an eval set and score it.

An eval set is a folder with ``articles.jsonl`` and ``questions.jsonl`` (see ``shared/eval/README.md``).
Every question becomes one ``PredictionRecord``; every metric is a pure function of those records
(plus the article texts, for checking citation quotes), so a predictions JSONL file written by
``write_predictions`` is enough to recompute the whole report with ``metrics_from_records``.

Metrics (``None`` where no question qualifies, e.g. abstention precision when nothing abstained):

* retrieval, over answerable questions with at least one gold url, on the ranked *distinct* article
  urls of the retrieved chunks: ``hit@1``, ``hit@5``, ``recall@5``, ``recall@10``, ``mrr@10``;
* ``answer_containment``: answerable questions whose answer contains an accepted answer, after
  normalising both (lower case, accents folded, punctuation dropped, spaces collapsed); an
  abstained answer is wrong;
* ``abstention_precision`` / ``abstention_recall``: positive class = abstained, truth = unanswerable;
* ``citation_verbatim_rate``: citations whose quote equals ``article_text[start:end]``;
* ``cited_gold_rate``: non-abstained answers to answerable questions citing at least one gold url;
* ``latency_p50_ms`` / ``latency_p95_ms``: of the total time to answer one question;
* ``by_type``: the same metrics per question ``type`` when the set has one.
"""

from newsdesk.eval.metrics import Metrics, metrics_from_records
from newsdesk.eval.records import PredictionRecord, read_predictions, write_predictions
from newsdesk.eval.report import format_report
from newsdesk.eval.run import run_eval

__all__ = [
    "Metrics",
    "PredictionRecord",
    "format_report",
    "metrics_from_records",
    "read_predictions",
    "run_eval",
    "write_predictions",
]
