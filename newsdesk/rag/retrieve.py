"""Retrieve step: a LangChain retriever fusing dense (Chroma) and BM25 (SQLite FTS5) rankings.

Scores are fused as ``cosine + lexical_weight * bm25 / best bm25`` (on squad2-dev this beat
reciprocal-rank fusion, 0.93 against 0.87 hit@1; see BENCHMARKS.md). A question that names an outlet or
a time adds candidates from those outlets or dates (picked from dense and BM25 searches
``hint_depth`` times deeper) and boosts them (a boost, not a wall: comparisons name
several);
explicit ``source`` / ``since`` / ``until`` arguments are hard filters. Given the day a question is
asked on (``as_of``), passages published in the week before it are boosted too: news is asked
about while it is news. Results are diversified so
that one article never holds more than ``max_per_article`` of the places.

Documents carry everything a citation needs in their metadata (article id, title, source, date,
url, character offsets) plus ``score``, the cosine similarity of the passage to the question, and
``fused``, its fusion score. Any other retriever that fills the same metadata plugs in.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from newsdesk.dates import parse_day, parse_until
from newsdesk.index.embed import Embedder
from newsdesk.index.filters import Filters, OutletCatalog
from newsdesk.index.store import ChunkStore, ChunkView
from newsdesk.rag.news import RECENT_KEY, NewsHints, hints_for
from newsdesk.rag.rerank import CrossEncoderReranker

LEXICAL_WORKERS = 4
"""BM25 searches that may run at once (one per question being answered; more wait their turn)."""


@dataclass
class _Candidate:
    id: str
    text: str
    metadata: dict[str, Any]
    cosine: float | None = None
    bm25: float = 0.0
    hinted: set[str] = field(default_factory=set)
    fused: float = 0.0
    rerank: float | None = None


class NewsRetriever(BaseRetriever):
    """Hybrid, news-aware retrieval of the ``k`` best chunks.

    Args:
        store: the chunk index (its ``lexical`` mirror enables BM25; without it, dense only).
        embedder: must be the model the index was built with.
        k: passages returned. Default: 5.
        candidates: depth of each ranking before fusion. Default: 40.
        lexical_weight: weight of the normalised BM25 score beside the cosine. Default: 0.5.
        hint_bonus: added for each outlet/date hint of the question that a passage matches. Default: 0.2.
        max_per_article: most passages of one article among the results. Default: 3.
        recency_bonus: added for a passage published in the week before the day the question is asked
            on, when the caller gives that day (``as_of``); such passages are also marked ``recent``
            for the reader. Default: 0.3 (the best of 0, 0.2, 0.3 on realtimeqa-train: hit@1 0.673, lead
            0.417 against 0.667, 0.411 at 0.2; 0.5 did worse on realtimeqa-news).
        hint_depth: when a question names outlets or dates, the dense and BM25 searches look this many
            times ``candidates`` deep for passages that match them. Default: 2 (5 found the same
            passages on realtimeqa-news and multihop-news, and cost 6-13 ms a question).
        reranker: a local cross-encoder that reorders the best ``rerank_depth`` fused candidates.
            Default: none.
        rerank_depth: fused candidates the reranker rescores. Default: 20.

    ``invoke(question, k=..., source=[...], since="YYYY-MM-DD", until="YYYY-MM-DD", as_of="YYYY-MM-DD")``
    overrides per call (``as_of``: the day "this week" and "yesterday" count from).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChunkStore
    embedder: Embedder
    k: int = 5
    candidates: int = 40
    lexical_weight: float = 0.5
    hint_bonus: float = 0.2
    max_per_article: int = 3
    hint_depth: int = 2
    recency_bonus: float = 0.3
    reranker: CrossEncoderReranker | None = None
    rerank_depth: int = 20
    news_refresh_seconds: float = 30.0
    _newest: tuple[float, int | None] | None = PrivateAttr(default=None)
    _workers: ThreadPoolExecutor | None = PrivateAttr(default=None)
    _workers_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _lexical_pool(self) -> ThreadPoolExecutor:
        """Threads for BM25 searches (each keeps its own SQLite connection), started on first use."""
        with self._workers_lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(max_workers=LEXICAL_WORKERS, thread_name_prefix="bm25")
            return self._workers

    def _news_facts(self) -> tuple[OutletCatalog, int | None]:
        """Known outlets (from the BM25 mirror; none without it) and the newest day (cached a while)."""
        lexical = self.store.lexical
        if lexical is None:
            return OutletCatalog(), None
        now = time.monotonic()
        if self._newest is None or now - self._newest[0] > self.news_refresh_seconds:
            self._newest = (now, lexical.newest_day())
        return lexical.outlets(), self._newest[1]

    def hints(self, query: str, as_of: int | None = None) -> NewsHints:
        """What the question names: outlets, and days ("last week" counts back from ``as_of``, a
        YYYYMMDD day, or else from the newest article's day)."""
        outlets, newest = self._news_facts()
        return hints_for(query, outlets, newest, as_of)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        """Raises ``UnknownOutlet`` when ``source`` names an outlet the index does not hold."""
        k = int(kwargs.get("k") or self.k)
        names = list(kwargs.get("source") or ())
        since = parse_day(kwargs["since"]) if kwargs.get("since") else None
        until = parse_until(kwargs["until"]) if kwargs.get("until") else None
        as_of = parse_day(kwargs["as_of"]) if kwargs.get("as_of") else None
        with self.store.reading() as view:  # one view for the whole question, even across a refresh
            if names:
                outlets = self.store.outlets(view)
                outlets.require(names)
                hard = outlets.filters(names, since, until)
            else:
                hard = Filters(since_day=since, until_day=until)
            return self._retrieve(view, query, k, hard, as_of)

    def _fill_cosines(self, view: ChunkView, pool: dict[str, _Candidate], vector: np.ndarray) -> None:
        """Passages found only by BM25 get their cosine from their stored vectors.

        While another process writes, the BM25 mirror and this view of Chroma can differ for a
        moment. A passage Chroma no longer holds (replaced) is left out; one written after this
        view was opened (its vector is not in the view yet) is embedded here, so a reader sees the
        new version of an article as soon as it is written, not only after the next refresh.
        """
        missing = [c.id for c in pool.values() if c.cosine is None]
        stored = view.embeddings_of(missing)
        unresolved = [chunk_id for chunk_id in missing if chunk_id not in stored]
        current = view.existing(unresolved) if unresolved else set()
        fresh = [chunk_id for chunk_id in unresolved if chunk_id in current]
        if fresh:
            texts = [held_text(pool[chunk_id]) for chunk_id in fresh]
            embedded = self.embedder.embed_documents(texts)
            stored.update(zip(fresh, (np.asarray(v, dtype=np.float32) for v in embedded), strict=True))
        for chunk_id in missing:
            if chunk_id in stored:
                pool[chunk_id].cosine = float(stored[chunk_id] @ vector)
            else:
                del pool[chunk_id]

    def _retrieve(
        self, view: ChunkView, query: str, k: int, hard: Filters, as_of: int | None = None
    ) -> list[Document]:
        pool: dict[str, _Candidate] = {}
        if hard.matches_nothing:
            return []
        hints = self.hints(query, as_of)
        hinted: list[Filters] = []
        if hints.sources:
            hinted.append(hints.outlets)
        if hints.has_dates:
            hinted.append(Filters(since_day=hints.since_day, until_day=hints.until_day))
        # One dense and one BM25 search, deeper when the question names outlets or dates: the passages
        # that match those are picked from them. (Searches filtered on metadata took seconds at 100k
        # chunks in Chroma, and a few hundred ms in SQLite.) Every search is within the hard filters.
        # BM25 runs on a worker thread while the question is embedded and the dense search runs (SQLite
        # and ONNX Runtime release the GIL): the question waits for the slower of the two, not both.
        depth = self.candidates * (self.hint_depth if hinted else 1)
        lexical_index = self.store.lexical
        pending = (
            self._lexical_pool().submit(lexical_index.search, query, depth, hard or None)
            if lexical_index is not None
            else None
        )
        vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        dense = view.search(vector, depth, where=hard.chroma_where())
        lexical = pending.result() if pending is not None else []
        for filters in [hard, *hinted]:
            for hit in [h for h in dense if filters.passes(h.metadata)][: self.candidates]:
                pool.setdefault(hit.id, _Candidate(hit.id, hit.text, hit.metadata)).cosine = hit.score
            for lexical_hit in [h for h in lexical if filters.passes(h.metadata)][: self.candidates]:
                candidate = pool.setdefault(
                    lexical_hit.id, _Candidate(lexical_hit.id, lexical_hit.text, lexical_hit.metadata)
                )
                candidate.bm25 = lexical_hit.bm25
        self._fill_cosines(view, pool, vector)
        best_bm25 = max((c.bm25 for c in pool.values()), default=0.0) or 1.0
        for c in pool.values():
            c.hinted |= matched_hints(c.metadata, hints)
            c.fused = (
                (c.cosine or 0.0)
                + self.lexical_weight * c.bm25 / best_bm25
                + self.hint_bonus * len(c.hinted - {RECENT_KEY})
                + self.recency_bonus * (RECENT_KEY in c.hinted)
            )
        ranked = one_version_per_article(sorted(pool.values(), key=lambda c: c.fused, reverse=True))
        if self.reranker is not None:
            ranked = rerank(ranked, query, self.reranker, self.rerank_depth)
        chosen = diversify(ranked, k, self.max_per_article)
        return [
            Document(
                page_content=c.text,
                id=c.id,
                metadata={
                    **c.metadata,
                    "score": float(c.cosine or 0.0),
                    "fused": round(c.fused, 6),
                    **({"rerank": round(c.rerank, 6)} if c.rerank is not None else {}),
                    **({RECENT_KEY: True} if RECENT_KEY in c.hinted else {}),
                },
            )
            for c in chosen
        ]


def held_text(candidate: _Candidate) -> str:
    """What the index embedded for a passage (headline and text, as ``embedding_text`` does)."""
    title = str(candidate.metadata.get("title", ""))
    return f"{title}\n{candidate.text}" if title and not candidate.text.startswith(title) else candidate.text


def one_version_per_article(ranked: list[_Candidate]) -> list[_Candidate]:
    """Passages of the version of each article that ranks best: never a mix of an old and a new one.

    While an article is replaced, its old and new chunks may both be found for a moment (new ones
    are written before old ones are deleted); a reader sees one version or the other.
    """
    version: dict[str, object] = {}
    kept = []
    for candidate in ranked:
        article = str(candidate.metadata.get("article_id", candidate.id))
        content = candidate.metadata.get("content_hash")
        if version.setdefault(article, content) == content:
            kept.append(candidate)
    return kept


def matched_hints(metadata: dict[str, Any], hints: NewsHints) -> set[str]:
    """Which of the question's hints (outlet, date range) a passage matches."""
    matched = set()
    if hints.sources and hints.outlets.passes(metadata):
        matched.add("source")
    if hints.has_dates:
        day = int(metadata.get("published_day") or 0)
        if day and (hints.since_day or 0) <= day <= (hints.until_day or 99999999):
            matched.add("date")
    if hints.recent is not None and hints.recent.passes(metadata):
        matched.add(RECENT_KEY)
    return matched


def rerank(
    ranked: list[_Candidate], query: str, reranker: CrossEncoderReranker, depth: int
) -> list[_Candidate]:
    """The best ``depth`` candidates reordered by the cross-encoder, the rest after them unchanged."""
    head, tail = ranked[:depth], ranked[depth:]
    for candidate, score in zip(head, reranker.score(query, [c.text for c in head]), strict=True):
        candidate.rerank = score
    return sorted(head, key=lambda c: c.rerank or 0.0, reverse=True) + tail


def diversify(ranked: list[_Candidate], k: int, max_per_article: int) -> list[_Candidate]:
    """The best ``k`` in order, with at most ``max_per_article`` passages of any one article."""
    counts: Counter[str] = Counter()
    chosen: list[_Candidate] = []
    for candidate in ranked:
        article = str(candidate.metadata.get("article_id", candidate.id))
        if counts[article] >= max_per_article:
            continue
        counts[article] += 1
        chosen.append(candidate)
        if len(chosen) == k:
            break
    return chosen
