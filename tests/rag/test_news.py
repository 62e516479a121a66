"""News awareness: the outlets and days a question names become hints the retriever prefers."""

from __future__ import annotations

from newsdesk.index.filters import OutletCatalog
from newsdesk.rag.news import hints_for

SOURCES = OutletCatalog.of(("", name, None) for name in ["TechCrunch", "The Verge", "The Age", "Wired"])


def test_outlets_named_in_a_question_are_found() -> None:
    hints = hints_for("Does 'The Verge' agree with the TechCrunch report on Google?", SOURCES, None)
    assert hints.sources == ("TechCrunch", "The Verge")


def test_long_outlet_names_match_without_the_article_but_short_ones_do_not() -> None:
    assert hints_for("What did Verge say?", SOURCES, None).sources == ("The Verge",)
    assert hints_for("At what age do children start school?", SOURCES, None).sources == ()


def test_outlets_are_named_in_any_case() -> None:
    assert hints_for("What did techcrunch and THE VERGE say?", SOURCES, None).sources == (
        "TechCrunch",
        "The Verge",
    )
    hints = hints_for("according to techcrunch", SOURCES, None)
    assert hints.sources == ("TechCrunch",) and hints.outlets.passes({"source": "TechCrunch"})


def test_days_a_question_names_become_a_day_range_to_prefer() -> None:
    hints = hints_for("What did Wired report in October 2023?", SOURCES, 20231231)
    assert (hints.since_day, hints.until_day) == (20231001, 20231031) and hints.sources == ("Wired",)
    week = hints_for("What did Apple announce last week?", SOURCES, 20231215)
    assert (week.since_day, week.until_day) == (20231208, 20231215)


def test_a_question_without_outlet_or_date_has_no_hints() -> None:
    hints = hints_for("Who is visiting Beijing?", SOURCES, 20231231)
    assert hints.sources == () and not hints.has_dates


def test_the_week_before_the_day_asked_is_recent_news() -> None:
    hints = hints_for("Which company lost an antitrust lawsuit?", SOURCES, 20231231, as_of=20231215)
    assert hints.recent is not None and not hints.has_dates
    for day in (20231208, 20231215):
        assert hints.recent.passes({"published_day": day})
    assert not hints.recent.passes({"published_day": 20231207})
    assert not hints.recent.passes({"published_day": 20231216})  # not yet written on the day asked


def test_without_the_day_asked_nothing_counts_as_recent() -> None:
    # An archive's newest article dates "this week", but does not make older news less relevant.
    assert hints_for("Which company lost an antitrust lawsuit?", SOURCES, 20231231).recent is None
