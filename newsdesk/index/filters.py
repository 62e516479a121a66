"""Hard filters on outlets and dates: one typed value, its three translations side by side.

Chroma filters with a ``where`` clause, the BM25 mirror with SQL, and the retriever checks
candidates in Python; the three must keep exactly the same passages, so they live together here.

Outlets are matched as people type them: case and spacing do not matter, and a story stored once
for several outlets (near-duplicates, ``also_in``) counts for each of them. The index's own names
are the reference: ``OutletCatalog.filters`` resolves what the user typed into the spellings stored
as ``source`` and the ids of the kept articles whose ``also_in`` names the outlet, and a passage
passes when its ``source`` is one of the former or its ``article_id`` one of the latter. The same
catalog finds the outlets a question names ("according to techcrunch"), with the one outlet matcher
(``newsdesk.reading.outlets``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsdesk.reading.outlets import OutletMatcher, outlet_key


class UnknownOutlet(ValueError):
    """Outlets asked for that no article of the index is from: said plainly, not answered as 'the
    articles do not say'."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        self.unknown, self.known = unknown, known
        names = ", ".join(repr(name) for name in unknown)
        shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        super().__init__(
            f"No indexed article is from {names}. "
            + (f"Outlets in the index: {shown}." if known else "No article in the index names its outlet.")
        )


@dataclass(frozen=True)
class Filters:
    """Hard filters: outlets (resolved by ``OutletCatalog.filters``) and a published-day range.

    ``outlets`` are the names asked for; ``sources`` and ``article_ids`` what they resolved to. With
    any of the three set, a passage must match an outlet; names that resolved to nothing match nothing.
    """

    sources: tuple[str, ...] = ()
    since_day: int | None = None
    until_day: int | None = None
    article_ids: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()

    @property
    def by_outlet(self) -> bool:
        return bool(self.outlets or self.sources or self.article_ids)

    @property
    def matches_nothing(self) -> bool:
        """Outlets were asked for and none is in the index: skip the search (Chroma has no 'false')."""
        return self.by_outlet and not (self.sources or self.article_ids)

    def __bool__(self) -> bool:
        return self.by_outlet or self.since_day is not None or self.until_day is not None

    def chroma_where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause (None for no filter); check ``matches_nothing`` first."""
        clauses: list[dict[str, Any]] = []
        if self.by_outlet:
            either = [
                {key: {"$in": list(values)}}
                for key, values in (("source", self.sources), ("article_id", self.article_ids))
                if values
            ]
            clauses.append(either[0] if len(either) == 1 else {"$or": either})
        if self.since_day is not None:
            clauses.append({"published_day": {"$gte": self.since_day}})
        if self.until_day is not None:
            clauses.append({"published_day": {"$lte": self.until_day}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def sql(self, table: str = "c") -> tuple[list[str], list[Any]]:
        """SQL conditions (to AND together) and their parameters over the mirror's ``chunks`` table."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.by_outlet:
            # One JSON parameter per list: an outlet may be carried by thousands of articles.
            clauses.append(
                f"({table}.source IN (SELECT value FROM json_each(?)) "
                f"OR {table}.article_id IN (SELECT value FROM json_each(?)))"
            )
            params += [json.dumps(list(self.sources)), json.dumps(list(self.article_ids))]
        if self.since_day is not None:
            clauses.append(f"{table}.published_day >= ?")
            params.append(self.since_day)
        if self.until_day is not None:
            clauses.append(f"{table}.published_day <= ?")
            params.append(self.until_day)
        return clauses, params

    def passes(self, metadata: Mapping[str, Any]) -> bool:
        """Whether a passage's metadata is within the filters (what the other two ask of their stores)."""
        if self.by_outlet and not (
            metadata.get("source") in self.sources or metadata.get("article_id") in self.article_ids
        ):
            return False
        day = int(metadata.get("published_day") or 0)
        if self.since_day is not None and day < self.since_day:
            return False
        return not (self.until_day is not None and day > self.until_day)


@dataclass
class OutletCatalog:
    """The outlets an index holds, by ``outlet_key``: their stored ``source`` spellings, and the kept
    articles whose ``also_in`` names them (an outlet may exist only there)."""

    spellings: dict[str, set[str]] = field(default_factory=dict)
    carriers: dict[str, set[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    _matcher: OutletMatcher | None = field(default=None, repr=False)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, str | None]]) -> OutletCatalog:
        """From (article_id, source, also_in) of the index's chunks (repeats are harmless)."""
        catalog = cls()
        for article_id, source, also_in in rows:
            if source:
                catalog._name(source)
                catalog.spellings.setdefault(outlet_key(source), set()).add(source)
            for outlet in _also_in_sources(also_in):
                catalog._name(outlet)
                catalog.carriers.setdefault(outlet_key(outlet), set()).add(article_id)
        return catalog

    def _name(self, name: str) -> None:
        key = outlet_key(name)
        if key:
            self.names[key] = min(self.names.get(key, name), name)  # a stable display name
            self._matcher = None

    def known(self) -> list[str]:
        """Every outlet's name, sorted."""
        return sorted(self.names.values(), key=str.casefold)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that no article of the index is from."""
        return [name for name in names if outlet_key(name) not in self.names]

    def filters(
        self, names: Iterable[str] = (), since_day: int | None = None, until_day: int | None = None
    ) -> Filters:
        """Hard filters for outlets as the user typed them, and a day range (see ``require``)."""
        keys = sorted({outlet_key(name) for name in names if name.strip()})
        sources = sorted({s for key in keys for s in self.spellings.get(key, ())})
        carriers = sorted({a for key in keys for a in self.carriers.get(key, ())})
        return Filters(tuple(sources), since_day, until_day, tuple(carriers), tuple(keys))

    def require(self, names: Iterable[str]) -> None:
        """Raise ``UnknownOutlet`` if any of ``names`` is no outlet of the index."""
        unknown = self.unknown(names)
        if unknown:
            raise UnknownOutlet(unknown, self.known())

    def named_in(self, question: str) -> tuple[str, ...]:
        """The outlets a question names, sorted (``newsdesk.reading.outlets.OutletMatcher``: any case,
        'The' optional for long names, 'the age of 16' is not The Age)."""
        if self._matcher is None:
            spellings = {s for key, name in self.names.items() for s in {name, *self.spellings.get(key, ())}}
            self._matcher = OutletMatcher(sorted(spellings))
        keys = self._matcher.named_keys(question) & set(self.names)
        return tuple(sorted((self.names[key] for key in keys), key=str.casefold))


def _also_in_sources(also_in: str | None) -> list[str]:
    """Outlets named in an ``also_in`` value (a JSON list of near-duplicates)."""
    if not also_in:
        return []
    try:
        items = json.loads(also_in)
    except (TypeError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [str(i["source"]) for i in items if isinstance(i, dict) and i.get("source")]
