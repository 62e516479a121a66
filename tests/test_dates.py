"""Date rules (newsdesk/dates.py): filters the user types, dates articles carry, day numbers."""

from __future__ import annotations

import pytest

from newsdesk.dates import (
    from_day_number,
    month_range,
    normalise_published,
    parse_day,
    parse_until,
    published_day,
)


def test_filters_accept_days_months_and_years() -> None:
    assert parse_day("2023-10-05") == parse_until("2023-10-05") == 20231005
    assert (parse_day("2023-10"), parse_until("2023-10")) == (20231001, 20231031)
    assert (parse_day("2024-02"), parse_until("2024-02")) == (20240201, 20240229)
    assert (parse_day("2023"), parse_until("2023")) == (20230101, 20231231)
    assert from_day_number(20240229).isoformat() == "2024-02-29" and month_range(2023, 2) == (
        20230201,
        20230228,
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "2024-02-30",
            "'2024-02-30' is not a date (February 2024 has 29 days): give YYYY-MM-DD, YYYY-MM or YYYY",
        ),
        ("2023-13", "'2023-13' is not a date (there is no month 13): give YYYY-MM-DD, YYYY-MM or YYYY"),
        ("yesterday", "'yesterday' is not a date: give YYYY-MM-DD, YYYY-MM or YYYY"),
        ("2023/10/05", "'2023/10/05' is not a date: give YYYY-MM-DD, YYYY-MM or YYYY"),
        ("0000", "'0000' is not a date: give YYYY-MM-DD, YYYY-MM or YYYY"),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_what_is_accepted(typed: str, message: str) -> None:
    for parse in (parse_day, parse_until):
        with pytest.raises(ValueError) as caught:
            parse(typed)
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("published", "stored"),
    [
        ("2023-10-05", "2023-10-05"),
        ("", ""),
        ("  ", ""),
        ("2023-10-05T12:00:00Z", "2023-10-05"),
        ("2023-10-05T23:30:00-05:00", "2023-10-05"),  # the outlet's own calendar day, not UTC's
        ("2023-10-05 08:15", "2023-10-05"),
    ],
)
def test_published_dates_are_days_and_date_times_keep_their_day(published: str, stored: str) -> None:
    assert normalise_published(published) == stored


@pytest.mark.parametrize(
    ("published", "why"),
    [
        ("2023-13-45", "there is no month 13"),
        ("2023-02-29", "February 2023 has 28 days"),
        ("2023-10", "give YYYY-MM-DD"),
        ("2023", "give YYYY-MM-DD"),
        ("05/10/2023", "give YYYY-MM-DD"),
        ("2023-10-05T25:00:00", "give YYYY-MM-DD"),
    ],
)
def test_published_dates_that_are_not_days_are_refused_with_the_reason(published: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        normalise_published(published)
    assert repr(published) in str(caught.value)


def test_day_numbers_of_stored_dates_are_zero_when_unknown_or_impossible() -> None:
    assert published_day("2023-10-05") == 20231005
    assert published_day("") == published_day("2023-13-45") == published_day("soon") == 0
