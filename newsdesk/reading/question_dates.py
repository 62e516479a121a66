"""The days and periods a question names: "on 2023-11-24", "November 24, 2023", "25 November 2023",
"in October 2023", "last week".

The retriever turns them into a published-day range to prefer (``day_range``); the reader matches
passages and yes/no claims to the days named (``named_days``). One reading for both, so a date the
question names means the same day to each. Relative phrases ("yesterday", "last week") count back
from the day the question is asked on (``as_of``), or from the newest article when the caller has
no such day (an archive's "now" is its newest story).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from newsdesk.dates import MONTH_NAME, MONTHS, day_number, from_day_number, month_range

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH_DAY = re.compile(rf"\b{MONTH_NAME}\s+(\d{{1,2}})(?!\d)(?:st|nd|rd|th)?(?:,?\s+(\d{{4}})\b)?", re.I)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH_NAME},?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b{MONTH_NAME},?\s+(\d{{4}})\b", re.I)

RELATIVE_DAYS = {
    "yesterday": 1,
    "last week": 7,
    "past week": 7,
    "this week": 7,
    "last month": 31,
    "past month": 31,
    "this month": 31,
    "last year": 366,
    "past year": 366,
}
"""A phrase the question holds -> how many days before ``as_of`` its period starts."""

_ANY_YEAR = 2000
"""A leap year: a day named without a year ("February 29") is checked against it."""


@dataclass(frozen=True)
class NamedDay:
    """A real calendar day a text names; ``year`` None when it gives none ("May 5")."""

    month: int
    day: int
    year: int | None = None

    @property
    def iso(self) -> str:
        """YYYY-MM-DD, or MM-DD without a year (the end of a stored ``published``)."""
        return (
            f"{self.year}-{self.month:02d}-{self.day:02d}"
            if self.year
            else f"{self.month:02d}-{self.day:02d}"
        )


def _day(year: int | None, month: int, day: int) -> NamedDay | None:
    try:
        date(year or _ANY_YEAR, month, day)
    except ValueError:
        return None
    return NamedDay(month, day, year)


def named_days(text: str) -> list[NamedDay]:
    """Every real day ``text`` names, first mention first, each once: ISO days, "Month D[, YYYY]"
    and "D Month YYYY"."""
    found: list[NamedDay | None] = [_day(int(m[1]), int(m[2]), int(m[3])) for m in _ISO.finditer(text)]
    found += [
        _day(int(m[3]) if m[3] else None, MONTHS[m[1].lower()], int(m[2])) for m in _MONTH_DAY.finditer(text)
    ]
    found += [_day(int(m[3]), MONTHS[m[2].lower()], int(m[1])) for m in _DAY_MONTH_YEAR.finditer(text)]
    return list(dict.fromkeys(day for day in found if day is not None))


def day_range(question: str, as_of: int | None) -> tuple[int | None, int | None]:
    """The published days (YYYYMMDD, first and last) a question refers to, or (None, None).

    Days it names with a year, else the months it names with a year ("October 2023"), else a period
    counted back from ``as_of`` (a YYYYMMDD day; None: relative phrases are not read).
    """
    days = [day_number(date(d.year, d.month, d.day)) for d in named_days(question) if d.year]
    if days:
        return min(days), max(days)
    months = [month_range(int(m[2]), MONTHS[m[1].lower()]) for m in _MONTH_YEAR.finditer(question)]
    if months:
        return min(a for a, _ in months), max(b for _, b in months)
    lowered = question.lower()
    if as_of:
        today = from_day_number(as_of)
        for phrase, span in RELATIVE_DAYS.items():
            if phrase in lowered:
                return day_number(today - timedelta(days=span)), as_of
    return None, None
