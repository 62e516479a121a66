"""The report puts Newsdesk and the plain pipeline side by side."""

from __future__ import annotations

from newsdesk.eval.metrics import metrics_from_records
from newsdesk.eval.report import format_report
from tests.eval.sample import TEXTS, make_records


def test_format_report_is_side_by_side() -> None:
    m = metrics_from_records(make_records(), TEXTS)
    plain = metrics_from_records(make_records()[:2], TEXTS)
    report = format_report(m, plain)
    header = report.splitlines()[0]
    assert "metric" in header and "newsdesk" in header and "plain" in header
    assert any(line.startswith("hit@1") and "0.333" in line for line in report.splitlines())
    assert "type: null_query" in report and "n/a" in report
    assert "plain" not in format_report(m).splitlines()[0]
