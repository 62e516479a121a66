"""Generated-answer metrics: how much of what the answers say is checked, and how soon text shows.

Pure functions of prediction records, like ``metrics``:

* ``verified_sentence_rate``: sentences of the non-abstained answers (each ends with its ``[n]``
  markers) with at least one verified citation, over all such sentences; a citation of the
  extractive answerer (``verified`` None) counts as verified, its quote being the sentence itself.
  None when no answer has a sentence, or when the records carry no citation ``n`` (older files);
* ``first_token_p50_ms``: median time until the first text of an answer could be shown
  (``timings_ms['first_token']``, recorded by the streamed path);
* ``llm_called_rate``: share of questions on which the language model was called
  (``timings_ms['llm']``); 0 without a model.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from newsdesk.eval.records import PredictionRecord
from newsdesk.reading.markers import sentences_with_markers


def verified_sentence_rate(records: Sequence[PredictionRecord]) -> float | None:
    """Share of answer sentences that cite at least one verified passage (see the module docstring)."""
    checked = total = 0
    for record in records:
        if record.abstained or any("n" not in c for c in record.citations):
            continue
        verified = {c["n"] for c in record.citations if c.get("verified") is not False}
        for _, cited in sentences_with_markers(record.answer):
            total += 1
            checked += any(n in verified for n in cited)
    return checked / total if total else None


def first_token_p50_ms(records: Sequence[PredictionRecord]) -> float | None:
    """Median time to the first shown text, in milliseconds; None when no record holds it."""
    times = [r.timings_ms["first_token"] for r in records if "first_token" in r.timings_ms]
    return statistics.median(times) if times else None


def llm_called_rate(records: Sequence[PredictionRecord]) -> float | None:
    """Share of questions on which the model was called; None without records."""
    return sum("llm" in r.timings_ms for r in records) / len(records) if records else None


def generated_metrics(records: Sequence[PredictionRecord]) -> dict[str, Any]:
    return {
        "verified_sentence_rate": verified_sentence_rate(records),
        "first_token_p50_ms": first_token_p50_ms(records),
        "llm_called_rate": llm_called_rate(records),
    }


def _fraction(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _milliseconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f}"


GENERATED_ROWS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("verified sentences", "verified_sentence_rate", _fraction),
    ("first token p50 ms", "first_token_p50_ms", _milliseconds),
    ("model called", "llm_called_rate", _fraction),
]
"""The report's lines for these metrics (label, metric key, formatter)."""
