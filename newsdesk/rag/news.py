"""News awareness: what a question says about outlets and dates, and explicit filters from the user.

"According to TechCrunch", "in October 2023", "on 2023-11-24", "last week" (relative to the day the
question is asked on when the caller gives one, ``as_of``, else to the newest article in the index, since
an archive's "now" is its newest story) become hints that the retriever
uses to boost, while ``--source`` / ``--since`` / ``--until`` become hard filters (index/filters.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsdesk.index.filters import Filters, OutletCatalog
from newsdesk.reading.question_dates import day_range

RECENT_KEY = "recent"
"""Metadata mark of a retrieved passage published in the week before the day the question is asked on."""


@dataclass(frozen=True)
class NewsHints:
    """What the question itself names: outlets, and a published-day range (YYYYMMDD ints).

    ``outlets`` matches the named outlets as ``--source`` would (``OutletCatalog.filters``).
    """

    sources: tuple[str, ...] = ()
    since_day: int | None = None
    until_day: int | None = None
    outlets: Filters = field(default_factory=Filters)
    recent: Filters | None = None
    """The week before the day the question is asked on, when the caller gives that day: news is
    asked about while it is news."""

    @property
    def has_dates(self) -> bool:
        return self.since_day is not None or self.until_day is not None


def hints_for(
    question: str, outlets: OutletCatalog, newest_day: int | None, as_of: int | None = None
) -> NewsHints:
    """The outlets (``OutletCatalog.named_in``) and days (``question_dates.day_range``, "last week"
    counted back from ``as_of`` or else ``newest_day``) a question names; with ``as_of``, also the
    week before it (``recent``)."""
    since, until = day_range(question, as_of or newest_day)
    names = outlets.named_in(question)
    recent = None
    if as_of:
        start, _ = day_range("this week", as_of)  # the one rule for what "this week" spans
        recent = Filters(since_day=start, until_day=as_of)
    return NewsHints(names, since, until, outlets.filters(names) if names else Filters(), recent)
