"""Verification: markers and citations match one to one, numbered in reading order."""

from __future__ import annotations

from newsdesk.rag.types import Answer, Citation
from newsdesk.rag.verify import markers_in, quote_matches, reconcile


def cite(n: int, quote: str = "q") -> Citation:
    return Citation(n, "a", "T", "u", "s", "", quote, 0, len(quote), 0.5)


def test_dangling_markers_are_dropped_and_unused_citations_removed() -> None:
    answer = Answer("q?", "One [2]. Two [7]. Three [2].", False, [cite(1), cite(2)])
    fixed = reconcile(answer)
    assert fixed.answer == "One [1]. Two. Three [1]."
    assert [c.n for c in fixed.citations] == [1]


def test_citations_are_renumbered_in_reading_order() -> None:
    answer = Answer("q?", "A [3]. B [1].", False, [cite(1, "b"), cite(3, "a")])
    fixed = reconcile(answer)
    assert fixed.answer == "A [1]. B [2]."
    assert [(c.n, c.quote) for c in fixed.citations] == [(1, "a"), (2, "b")]
    assert markers_in(fixed.answer) == [1, 2]


def test_an_abstention_carries_no_citation() -> None:
    assert reconcile(Answer("q?", "No answer.", True, [cite(1)])).citations == []


def test_quote_must_match_the_article_at_its_offsets() -> None:
    text = "Alpha beta gamma."
    assert quote_matches(Citation(1, "a", "", "", "", "", "beta", 6, 10, 0), text)
    assert not quote_matches(Citation(1, "a", "", "", "", "", "beta", 5, 9, 0), text)
