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


def hints_for(question: str, outlets: OutletCatalog, newest_day: int | None) -> NewsHints:
    """The outlets (``OutletCatalog.named_in``) and days (``question_dates.day_range``, "last week"
    counted back from ``newest_day``) a question names."""
    since, until = day_range(question, newest_day)
    names = outlets.named_in(question)
    return NewsHints(names, since, until, outlets.filters(names) if names else Filters())
