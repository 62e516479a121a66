"""Builds the steps from one ``Settings``; each heavy part is made once, on first use."""

from __future__ import annotations

from functools import cached_property

from newsdesk.config import Settings
from newsdesk.extras import require_llm_packages
from newsdesk.index.embed import Embedder, OnnxEmbedder, available_cores
from newsdesk.index.entities import EntityRecognizer
from newsdesk.index.indexer import Indexer
from newsdesk.index.lock import IndexBusy, index_lock
from newsdesk.index.store import ChunkStore
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.llm.followup import Rewriter
from newsdesk.rag.llm.generate import GenerativeAnswerer
from newsdesk.rag.pipeline import NewsdeskQA
from newsdesk.rag.rerank import CrossEncoderReranker
from newsdesk.rag.retrieve import NewsRetriever


class Newsdesk:
    """The write path (``indexer``) and the read path (``qa``) over one index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        if embedder is not None:  # share one loaded model between several indexes (tests, eval)
            self.embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        """The backend of ``embedding_backend``: fp32 torch, or the int8 ONNX all-MiniLM-L6-v2.

        The ONNX file holds all-MiniLM-L6-v2 only, so a custom ``embedding_model`` folder runs on torch:
        asking for both explicitly is an error rather than a silent swap of models.
        """
        s = self.settings
        batch, threads, workers = (
            s.embedding_batch_size,
            s.torch_threads,
            s.embedding_workers or available_cores(),
        )
        if s.embedding_backend == "onnx" and s.embedding_model is not None:
            if "embedding_backend" in s.model_fields_set:
                raise ValueError(
                    "NEWSDESK_EMBEDDING_BACKEND=onnx runs the packaged all-MiniLM-L6-v2 only; "
                    "set NEWSDESK_EMBEDDING_BACKEND=torch to use NEWSDESK_EMBEDDING_MODEL"
                )
            return Embedder(s.embedding_model, batch_size=batch, threads=threads, workers=workers)
        if s.embedding_backend == "onnx":
            return OnnxEmbedder(batch_size=batch, threads=threads, workers=workers)
        return Embedder(s.embedding_model, batch_size=batch, threads=threads, workers=workers)

    @cached_property
    def store(self) -> ChunkStore:
        s = self.settings
        return ChunkStore(
            s.index_dir,
            s.collection,
            url=s.chroma_url,
            lexical_path=s.lexical_path,
            lexical_max_term_share=s.bm25_max_term_share,
            space=self.embedder.space,
        )

    @cached_property
    def indexer(self) -> Indexer:
        s = self.settings
        return Indexer(
            self.store,
            self.embedder,
            max_chars=s.chunk_max_chars,
            overlap=s.chunk_overlap_sentences,
            batch_articles=s.index_batch_articles,
            lock_timeout=s.index_wait,
            dedup=s.dedup,
            state_dir=s.state_dir,
            recognizer=EntityRecognizer() if s.ner else None,
        )

    @cached_property
    def reranker(self) -> CrossEncoderReranker | None:
        """The user's local cross-encoder, if ``reranker`` names one (checked now, loaded on first use)."""
        s = self.settings
        return CrossEncoderReranker(s.reranker, threads=s.torch_threads) if s.reranker else None

    @cached_property
    def qa(self) -> NewsdeskQA:
        s = self.settings
        require_llm_packages(s)  # a missing extra is named now, not at the first question
        retriever = NewsRetriever(
            store=self.store,
            embedder=self.embedder,
            k=s.k,
            candidates=s.candidates,
            lexical_weight=s.lexical_weight,
            hint_bonus=s.hint_bonus,
            hint_depth=s.hint_depth,
            recency_bonus=s.recency_bonus,
            max_per_article=s.max_chunks_per_article,
            reranker=self.reranker,
            rerank_depth=s.rerank_depth,
        )
        answerer = ExtractiveAnswerer.load(min_confidence=s.min_score, max_support=s.max_answer_sentences - 1)
        generator = None if s.llm == "extractive" else GenerativeAnswerer(s, answerer, embedder=self.embedder)
        return NewsdeskQA(
            retriever,
            answerer,
            max_question_chars=s.max_question_chars,
            generator=generator,
            rewriter=rewriter_for(s, generator),
        )

    def outlets(self) -> list[str]:
        """Every outlet of the index, those named only in near-duplicates' ``also_in`` included."""
        return self.store.outlets().known()

    def repair_mirror(self) -> bool:
        """Bring the BM25 mirror in line with Chroma if no indexing run is writing (one would do it).

        Called by readers (``ask``, ``serve``) once at start: an interrupted run can leave the mirror
        behind. The repair takes the writer's lock and a view opened under it, so it never races a
        writer or trusts a view older than the mirror. Returns whether it ran.
        """
        store = self.store
        if store.lexical is None:
            return False
        try:
            with index_lock(self.settings.state_dir):
                if store.is_open and not store.url:
                    store.refresh_view()
                store.sync_mirror()
                return True
        except IndexBusy:
            return False


def rewriter_for(settings: Settings, generator: GenerativeAnswerer | None) -> Rewriter:
    """The follow-up rewriter: the model's rewrite checked against a heuristic, or the heuristic alone.

    The model is reached only when a follow-up needs it (a local server starts on first use), and
    not while its backend rests after a failure.
    """
    if generator is None or not settings.llm_rewrite:
        return Rewriter(None, settings.llm_history_turns)
    return Rewriter(generator.available_model, settings.llm_history_turns, on_error=generator.rewrite_failed)
