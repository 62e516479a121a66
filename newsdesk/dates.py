"""Every date rule of Newsdesk in one place: filters the user types, dates articles carry, month names.

Days travel as integers YYYYMMDD ("day numbers") because Chroma and SQLite filter integer ranges
cheaply; ``published`` stays the text YYYY-MM-DD an article was stored with.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

ACCEPTED_FILTERS = "YYYY-MM-DD, YYYY-MM or YYYY"
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
"""English month names, written out (``calendar``'s follow the machine's locale)."""
_ABBREVIATED = ("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec")
"""Month abbreviations as news writes them ("May" is its own)."""
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CALENDAR_WORDS = frozenset(name.lower() for name in MONTH_NAMES + WEEKDAYS)
"""Month and weekday names in lower case: capitalised, yet never a name."""
MONTHS = {name.lower(): i for i, name in enumerate(MONTH_NAMES, 1)}
MONTHS |= {a.lower(): next(i for i, n in enumerate(MONTH_NAMES, 1) if n.startswith(a)) for a in _ABBREVIATED}
"""A month's name or abbreviation, in lower case -> its number."""
_MONTH_WORDS = "|".join(MONTH_NAMES + _ABBREVIATED)
WEEKDAY = rf"(?:{'|'.join(WEEKDAYS)})"
"""A weekday's name, to build patterns from."""
MONTH_NAME = rf"({_MONTH_WORDS})\.?"
"""A month's name or abbreviation in a regex group (match case-insensitively); ``MONTHS`` maps it."""
MONTH = rf"(?:{_MONTH_WORDS})\.?"
"""The same without a group, to build larger patterns from."""

_FILTER = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DAY_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def from_day_number(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


def month_range(year: int, month: int) -> tuple[int, int]:
    """The first and last day numbers of a month."""
    last = calendar.monthrange(year, month)[1]
    return day_number(date(year, month, 1)), day_number(date(year, month, last))


def _checked(year: int, month: int, day: int) -> date:
    """The date, or a ValueError that says what is wrong with it (no such month, or day)."""
    if not 1 <= month <= 12:
        raise ValueError(f"there is no month {month}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise ValueError(f"{MONTH_NAMES[month - 1]} {year} has {last} days")
    return date(year, month, day)


def _filter_parts(text: str) -> tuple[int, int | None, int | None]:
    match = _FILTER.fullmatch(text.strip())
    if match is None or int(match[1]) < 1:
        raise ValueError(f"{text!r} is not a date: give {ACCEPTED_FILTERS}")
    year, month, day = int(match[1]), match[2], match[3]
    try:
        _checked(year, int(month or 1), int(day or 1))
    except ValueError as error:
        raise ValueError(f"{text!r} is not a date ({error}): give {ACCEPTED_FILTERS}") from None
    return year, int(month) if month else None, int(day) if day else None


def parse_day(text: str) -> int:
    """A ``--since`` date: 'YYYY-MM-DD', or 'YYYY-MM' / 'YYYY' meaning their first day."""
    year, month, day = _filter_parts(text)
    return day_number(date(year, month or 1, day or 1))


def parse_until(text: str) -> int:
    """An ``--until`` date: like ``parse_day``, but a month or year means its last day."""
    year, month, day = _filter_parts(text)
    if month is None:
        return day_number(date(year, 12, 31))
    return day_number(date(year, month, day or calendar.monthrange(year, month)[1]))


def normalise_published(value: str) -> str:
    """An article's ``published`` as YYYY-MM-DD ('' for none); a ValueError saying what is wrong.

    An ISO date-time (``2023-10-05T12:00:00Z``, with any offset) keeps the calendar day it names,
    not converted to another time zone: that is the day the outlet dated the story. A month or a
    year alone is refused: the article's day would be made up, and day filters would then be wrong.
    """
    text = value.strip()
    if not text:
        return ""
    match = _DAY_PREFIX.match(text)
    if match is None:
        raise ValueError(f"{value!r} is not a date: give YYYY-MM-DD (or an ISO date-time)")
    try:
        day = _checked(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a date ({error})") from None
    if len(text) > 10:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date: give YYYY-MM-DD (or an ISO date-time)") from None
    return day.isoformat()


def published_day(published: str) -> int:
    """A stored YYYY-MM-DD as its day number, 0 when unknown or not a real date."""
    match = _DAY_PREFIX.match(published)
    if match is None:
        return 0
    try:
        return day_number(date(int(match[1]), int(match[2]), int(match[3])))
    except ValueError:
        return 0
