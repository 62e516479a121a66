"""News awareness: outlets and dates named in a question, and explicit date filters."""

from __future__ import annotations

import pytest

from newsdesk.index.filters import OutletCatalog
from newsdesk.rag.news import date_hint, hints_for, named_sources

SOURCES = OutletCatalog.of(("", name, None) for name in ["TechCrunch", "The Verge", "The Age", "Wired"])


def test_outlets_named_in_a_question_are_found() -> None:
    question = "Does 'The Verge' agree with the TechCrunch report on Google?"
    assert named_sources(question, SOURCES) == ("TechCrunch", "The Verge")


def test_long_outlet_names_match_without_the_article_but_short_ones_do_not() -> None:
    assert named_sources("What did Verge say?", SOURCES) == ("The Verge",)
    assert named_sources("At what age do children start school?", SOURCES) == ()


def test_outlets_are_named_in_any_case() -> None:
    assert named_sources("What did techcrunch and THE VERGE say?", SOURCES) == ("TechCrunch", "The Verge")
    hints = hints_for("according to techcrunch", SOURCES, None)
    assert hints.sources == ("TechCrunch",) and hints.outlets.passes({"source": "TechCrunch"})


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did Wired report on 2023-11-25?", (20231125, 20231125)),
        ("Between the report on November 24, 2023 and one on 25 November 2023?", (20231124, 20231125)),
        ("What happened in October 2023?", (20231001, 20231031)),
        ("Sept 2023 or Dec 2023?", (20230901, 20231231)),
    ],
)
def test_dates_in_questions_become_day_ranges(question: str, expected: tuple[int, int]) -> None:
    assert date_hint(question, newest_day=20231231) == expected


def test_relative_dates_count_back_from_the_newest_article() -> None:
    assert date_hint("What did Apple announce last week?", newest_day=20231215) == (20231208, 20231215)
    assert date_hint("What did Apple announce last week?", newest_day=None) == (None, None)


def test_a_question_without_outlet_or_date_has_no_hints() -> None:
    hints = hints_for("Who is visiting Beijing?", SOURCES, 20231231)
    assert hints.sources == () and not hints.has_dates
