"""Builds the steps from one ``Settings``; each heavy part is made once, on first use."""

from __future__ import annotations

from functools import cached_property

from index.embed import Embedder
from index.indexer import Indexer
from index.store import ChunkStore
from newsdesk.config import Settings
from rag.answer import ExtractiveAnswerer
from rag.pipeline import NewsdeskQA
from rag.retrieve import NewsRetriever


class Newsdesk:
    """The write path (``indexer``) and the read path (``qa``) over one index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if embedder is not None:  # share one loaded model between several indexes (tests, eval)
            self.embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(s.embedding_model, batch_size=s.embedding_batch_size, threads=s.torch_threads)

    @cached_property
    def store(self) -> ChunkStore:
        return ChunkStore(self.settings.index_dir, self.settings.collection)

    @cached_property
    def indexer(self) -> Indexer:
        s = self.settings
        return Indexer(
            self.store, self.embedder, max_chars=s.chunk_max_chars, overlap=s.chunk_overlap_sentences
        )

    @cached_property
    def qa(self) -> NewsdeskQA:
        s = self.settings
        retriever = NewsRetriever(store=self.store, embedder=self.embedder, k=s.k)
        answerer = ExtractiveAnswerer(
            self.embedder, min_score=s.min_score, max_sentences=s.max_answer_sentences
        )
        return NewsdeskQA(retriever, answerer, max_question_chars=s.max_question_chars)
