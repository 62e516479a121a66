"""News awareness: what a question says about outlets and dates, and explicit filters from the user.

"According to TechCrunch", "in October 2023", "on 2023-11-24", "last week" (relative to the day the
question is asked on when the caller gives one, ``as_of``, else to the newest article in the index, since
an archive's "now" is its newest story) become hints that the retriever
uses to boost, while ``--source`` / ``--since`` / ``--until`` become hard filters (index/filters.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from newsdesk.dates import MONTH_NAME, MONTHS, day_number, from_day_number, month_range
from newsdesk.index.filters import Filters, OutletCatalog

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b{MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH_NAME},?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b{MONTH_NAME},?\s+(\d{{4}})\b", re.I)
_RELATIVE = {
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


@dataclass(frozen=True)
class NewsHints:
    """What the question itself names: outlets, and a published-day range (YYYYMMDD ints).

    ``outlets`` matches the named outlets as ``--source`` would (``OutletCatalog.filters``).
    """

    sources: tuple[str, ...] = ()
    since_day: int | None = None
    until_day: int | None = None
    outlets: Filters = field(default_factory=Filters)

    @property
    def has_dates(self) -> bool:
        return self.since_day is not None or self.until_day is not None


def date_hint(question: str, newest_day: int | None) -> tuple[int | None, int | None]:
    """The published-day range a question refers to, if any."""
    days: list[int] = []
    for match in _ISO.finditer(question):
        try:
            days.append(day_number(date(int(match[1]), int(match[2]), int(match[3]))))
        except ValueError:
            continue
    for match in _MONTH_DAY_YEAR.finditer(question):
        try:
            days.append(day_number(date(int(match[3]), MONTHS[match[1].lower()], int(match[2]))))
        except (ValueError, KeyError):
            continue
    for match in _DAY_MONTH_YEAR.finditer(question):
        try:
            days.append(day_number(date(int(match[3]), MONTHS[match[2].lower()], int(match[1]))))
        except (ValueError, KeyError):
            continue
    if days:
        return min(days), max(days)
    months = [
        month_range(int(m[2]), MONTHS[m[1].lower()])
        for m in _MONTH_YEAR.finditer(question)
        if m[1].lower() in MONTHS
    ]
    if months:
        return min(a for a, _ in months), max(b for _, b in months)
    lowered = question.lower()
    if newest_day:
        newest = from_day_number(newest_day)
        for phrase, span in _RELATIVE.items():
            if phrase in lowered:
                return day_number(newest - timedelta(days=span)), newest_day
    return None, None


def named_sources(question: str, outlets: OutletCatalog) -> tuple[str, ...]:
    """Outlets of the index that the question names (the catalog's matcher: any case, 'The' optional
    for long names)."""
    return outlets.named_in(question)


def hints_for(question: str, outlets: OutletCatalog, newest_day: int | None) -> NewsHints:
    since, until = date_hint(question, newest_day)
    names = named_sources(question, outlets)
    return NewsHints(names, since, until, outlets.filters(names) if names else Filters())
