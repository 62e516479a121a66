"""Rerank step: an optional local cross-encoder that rescores the fused candidates.

A cross-encoder reads the question and a passage together, so it judges relevance better than two
separate embeddings do, at the price of one forward pass per passage; it therefore only reorders the
best ``depth`` candidates of the fused ranking. No cross-encoder ships as a package that works offline,
so none is on by default: a user points ``NEWSDESK_RERANKER`` at a sentence-transformers
``CrossEncoder`` folder on disk (for example ``cross-encoder/ms-marco-MiniLM-L6-v2`` saved with
``save_pretrained``). Nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from newsdesk.errors import RerankerNotFound
from newsdesk.index.embed import use_torch_threads

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


def check_reranker_folder(folder: Path) -> Path:
    """The folder, if it looks like a saved model; else a clear error naming the setting."""
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise RerankerNotFound(
            f"NEWSDESK_RERANKER={folder}: no cross-encoder there (expected a folder with config.json, "
            "as written by CrossEncoder.save_pretrained). Unset it to run without reranking."
        )
    return folder


class CrossEncoderReranker:
    """Scores (question, passage) pairs with a local sentence-transformers ``CrossEncoder``.

    Args:
        folder: the saved model (checked at once; loaded on first use).
        batch_size: pairs per forward pass. Default: 16.
        threads: torch CPU threads while scoring. Default: 1.
    """

    def __init__(self, folder: Path, batch_size: int = 16, threads: int = 1) -> None:
        self.folder = check_reranker_folder(Path(folder))
        self.batch_size = batch_size
        self.threads = threads
        self._model: CrossEncoder | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe)."""
        self._load()

    def _load(self) -> CrossEncoder:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                use_torch_threads(self.threads)
                self._model = CrossEncoder(str(self.folder), device="cpu", local_files_only=True)
            return self._model

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """One relevance score per passage (higher is more relevant), in the passages' order."""
        if not passages:
            return []
        model = self._load()
        scores = model.predict(
            [(question, passage) for passage in passages],
            batch_size=self.batch_size,
            show_progress_bar=False,
        )
        return [float(s) for s in scores]
