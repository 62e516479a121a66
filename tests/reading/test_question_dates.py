"""The days and periods a question names, for the retriever's day range and the reader's day matches."""

from __future__ import annotations

import pytest

from newsdesk.reading.question_dates import NamedDay, day_range, named_days


def isos(text: str) -> list[str]:
    return [day.iso for day in named_days(text)]


def test_days_are_read_in_iso_and_both_written_orders() -> None:
    assert isos("What did Wired report on 2023-11-25?") == ["2023-11-25"]
    assert isos("After TechCrunch reported on October 7, 2023, did Google pay?") == ["2023-10-07"]
    assert isos("Between the report of 25 November 2023 and the 26th Nov. 2023 one") == [
        "2023-11-25",
        "2023-11-26",
    ]
    assert isos("Sept. 3rd, 2024 and Dec 1 2024") == ["2024-09-03", "2024-12-01"]


def test_a_day_without_a_year_is_month_and_day() -> None:
    assert named_days("What happened on May 5?") == [NamedDay(5, 5)]
    assert isos("What happened on May 5?") == ["05-05"]


def test_a_month_and_year_is_no_day_and_impossible_days_are_none() -> None:
    assert isos("What happened in October 2023?") == []  # not "October 20"
    assert isos("On February 30, 2023 or 2023-13-01?") == []
    assert isos("On February 29?") == ["02-29"]  # a day of some year


def test_each_day_is_named_once_in_first_mention_order() -> None:
    assert isos("2023-11-25, then November 24, 2023, then 25 November 2023") == ["2023-11-25", "2023-11-24"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did Wired report on 2023-11-25?", (20231125, 20231125)),
        ("Between the report on November 24, 2023 and one on 25 November 2023?", (20231124, 20231125)),
        ("What happened in October 2023?", (20231001, 20231031)),
        ("Sept 2023 or Dec 2023?", (20230901, 20231231)),
        ("What happened on May 5?", (None, None)),  # no year: no range to prefer
    ],
)
def test_days_and_months_with_a_year_become_a_day_range(question: str, expected: tuple[int, int]) -> None:
    assert day_range(question, as_of=20231231) == expected


@pytest.mark.parametrize(
    ("phrase", "since"),
    [("yesterday", 20231214), ("last week", 20231208), ("this month", 20231114), ("past year", 20221214)],
)
def test_relative_phrases_count_back_from_the_day_asked(phrase: str, since: int) -> None:
    assert day_range(f"What did Apple announce {phrase}?", as_of=20231215) == (since, 20231215)


def test_relative_phrases_need_a_day_to_count_from_and_named_days_win() -> None:
    assert day_range("What did Apple announce last week?", as_of=None) == (None, None)
    assert day_range("Last week, on 2023-12-01, what happened?", as_of=20231215) == (20231201, 20231201)
