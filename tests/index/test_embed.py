"""Embedding: the packaged all-MiniLM-L6-v2, offline, normalised, meaningfully similar."""

from __future__ import annotations

import numpy as np

from index.embed import Embedder, default_model_path


def test_model_comes_from_the_package_not_a_hub() -> None:
    path = default_model_path()
    assert path.is_dir() and (path / "config.json").exists()
    assert "site-packages" in str(path)


def test_vectors_are_384_dimensional_and_normalised(embedder: Embedder) -> None:
    vectors = embedder.encode(["Shoigu visits Beijing.", "Rain in Spain."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_similar_texts_score_higher_than_unrelated_ones(embedder: Embedder) -> None:
    query = np.asarray(embedder.embed_query("Who is visiting Beijing for security talks?"))
    related, unrelated = embedder.encode(
        ["Russian official Shoigu travels to Beijing for security consultations.", "A recipe for lemon cake."]
    )
    assert query @ related > query @ unrelated + 0.3


def test_is_a_langchain_embeddings(embedder: Embedder) -> None:
    from langchain_core.embeddings import Embeddings

    assert isinstance(embedder, Embeddings)
    assert len(embedder.embed_documents(["a b c"])[0]) == 384


def test_empty_input_gives_no_vectors(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, 384)
