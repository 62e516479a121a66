"""Embedding: the packaged all-MiniLM-L6-v2, offline, normalised, meaningfully similar; in fp32 (torch)
and in int8 (ONNX), which must agree with each other and keep the caller's order."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsdesk.config import Settings
from newsdesk.index.embed import (
    Embedder,
    OnnxEmbedder,
    available_cores,
    default_model_path,
    default_onnx_path,
    encode_by_length,
)
from newsdesk.wiring import Newsdesk

SENTENCES = [
    "Shoigu visits Beijing for security talks with Chinese officials.",
    "Rain in Spain.",
    "The central bank raised interest rates by a quarter of a point on Wednesday, citing inflation.",
    "A recipe for lemon cake.",
    "Apple unveiled a new iPhone at its September event in Cupertino, California, with a faster chip "
    "and a titanium frame, and said it would ship the phone in ten days.",
    "Who won?",
]


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    model = OnnxEmbedder()
    model.warm_up()
    return model


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


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


def test_length_sorted_batches_come_back_in_the_callers_order() -> None:
    texts = ["ccc", "a", "bbbbb", "dd", "", "eeee"]
    seen: list[list[int]] = []

    def encode_batch(batch: list[int]) -> np.ndarray:
        seen.append(batch)
        return np.array([[len(texts[i]), i] for i in batch], dtype=np.float32)

    out = encode_by_length(texts, [len(t) for t in texts], 4, encode_batch, 2)
    assert out[:, 1].tolist() == list(range(len(texts)))  # row i is text i
    assert [len(b) for b in seen] == [4, 2]
    lengths = [len(texts[i]) for batch in seen for i in batch]
    assert lengths == sorted(lengths)  # the shortest texts were batched together


def test_a_token_budget_caps_batches_of_long_texts() -> None:
    lengths = [10, 200, 10, 256, 100, 10]
    seen: list[list[int]] = []

    def encode_batch(batch: list[int]) -> np.ndarray:
        seen.append(batch)
        return np.ones((len(batch), 1), dtype=np.float32)

    encode_by_length(["x"] * len(lengths), lengths, 64, encode_batch, 1, max_batch_tokens=400)
    for batch in seen:
        assert len(batch) * max(lengths[i] for i in batch) <= 400 or len(batch) == 1
    assert sorted(i for batch in seen for i in batch) == list(range(len(lengths)))


def test_torch_keeps_input_order_with_small_batches(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = np.stack([embedder.encode([text])[0] for text in SENTENCES])
    monkeypatch.setattr(embedder, "batch_size", 2)
    batched = embedder.encode(SENTENCES)
    assert np.allclose(batched, single, atol=1e-4)


def test_batches_run_at_once_on_several_workers_give_the_same_vectors(
    embedder: Embedder, onnx_embedder: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"{sentence} Number {i} of the run." * (1 + i % 4) for i, sentence in enumerate(SENTENCES * 6)]
    embedder.warm_up()
    # The call that runs one batch in each backend, watched to see which threads run batches.
    runners = [(embedder._model, "encode"), (onnx_embedder, "_run")]
    for model, (owner, name) in zip((embedder, onnx_embedder), runners, strict=True):
        monkeypatch.setattr(model, "batch_size", 3)
        monkeypatch.setattr(model, "workers", 1)
        one = model.encode(texts)
        threads: set[str] = set()
        run = getattr(owner, name)

        def watched(*args: object, run: Any = run, threads: set[str] = threads, **kwargs: object) -> Any:
            threads.add(threading.current_thread().name)
            return run(*args, **kwargs)

        monkeypatch.setattr(owner, name, watched)
        monkeypatch.setattr(model, "workers", 2)
        two = model.encode(texts)
        assert np.allclose(one, two, atol=1e-5)
        assert len(threads) == 2 and all(t.startswith("newsdesk-embed") for t in threads)


def test_settings_give_the_embedder_one_worker_per_core_unless_told(tmp_path: Path) -> None:
    assert Newsdesk(Settings(db=tmp_path)).embedder.workers == available_cores()
    assert Newsdesk(Settings(db=tmp_path, embedding_workers=3)).embedder.workers == 3


# --- the int8 ONNX backend -------------------------------------------------------------------------


def test_onnx_model_and_tokenizer_come_from_packages() -> None:
    model = default_onnx_path()
    assert model.is_file() and model.suffix == ".onnx" and "site-packages" in str(model)
    assert (default_model_path() / "tokenizer.json").is_file()


def test_onnx_backend_loads_and_embeds_with_the_network_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ONNX embedder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = OnnxEmbedder()
    assert model.encode(["offline"]).shape == (1, 384)


def test_onnx_vectors_are_384_dimensional_and_normalised(onnx_embedder: OnnxEmbedder) -> None:
    vectors = onnx_embedder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert onnx_embedder.dimension == 384
    assert onnx_embedder.encode([]).shape == (0, 384)


def test_onnx_agrees_with_fp32(onnx_embedder: OnnxEmbedder, embedder: Embedder) -> None:
    assert cosines(onnx_embedder.encode(SENTENCES), embedder.encode(SENTENCES)).min() > 0.98
    weights_only = OnnxEmbedder(quantize_activations=False)
    assert cosines(weights_only.encode(SENTENCES), embedder.encode(SENTENCES)).min() > 0.995


def test_onnx_keeps_input_order_with_length_sorted_batches() -> None:
    model = OnnxEmbedder(batch_size=2)
    single = np.stack([model.encode([text])[0] for text in SENTENCES])
    batched = model.encode(SENTENCES)
    # int8 activations are quantised per batch, so batch mates nudge a vector a little; the order holds.
    assert cosines(batched, single).min() > 0.97
    assert (batched @ single.T).argmax(axis=1).tolist() == list(range(len(SENTENCES)))
    exact = OnnxEmbedder(batch_size=2, quantize_activations=False)
    exact_single = np.stack([exact.encode([text])[0] for text in SENTENCES])
    assert np.allclose(exact.encode(SENTENCES), exact_single, atol=1e-4)


def test_onnx_truncates_at_256_tokens(onnx_embedder: OnnxEmbedder) -> None:
    long_text = " ".join(["The minister spoke about the harvest and the weather."] * 60)  # ~660 tokens
    head, longer = onnx_embedder.encode([long_text]), onnx_embedder.encode([long_text + " Cats."])
    assert np.allclose(head, longer, atol=1e-6)


def test_onnx_is_a_langchain_embeddings_with_a_query_cache(onnx_embedder: OnnxEmbedder) -> None:
    from langchain_core.embeddings import Embeddings

    assert isinstance(onnx_embedder, Embeddings) and isinstance(onnx_embedder, Embedder)
    documents = onnx_embedder.embed_documents(["a b c", "d e f"])
    assert len(documents) == 2 and len(documents[0]) == 384
    first = onnx_embedder.embed_query("Who is visiting Beijing for security talks?")
    assert onnx_embedder.embed_query("Who is visiting Beijing for security talks?") is first
    related, unrelated = onnx_embedder.encode(
        ["Russian official Shoigu travels to Beijing for security consultations.", "A recipe for lemon cake."]
    )
    assert np.asarray(first) @ related > np.asarray(first) @ unrelated + 0.3


def test_onnx_loads_once_and_encodes_from_several_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    sessions: list[object] = []
    real_session = onnxruntime.InferenceSession

    def counting_session(*args: object, **kwargs: object) -> object:
        sessions.append(object())
        return real_session(*args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting_session)
    model = OnnxEmbedder(quantize_activations=False)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda text: model.encode([text])[0], SENTENCES[:4] * 2))
    assert len(sessions) == 1
    for first, second in zip(results[:4], results[4:], strict=True):
        assert np.allclose(first, second, atol=1e-5)


def test_onnx_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ONNX embedding model not found"):
        OnnxEmbedder(model_path=tmp_path / "absent.onnx").warm_up()


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    assert type(Newsdesk(Settings(db=tmp_path, embedding_backend="torch")).embedder) is Embedder
    onnx = Newsdesk(Settings(db=tmp_path, embedding_backend="onnx", torch_threads=1)).embedder
    assert isinstance(onnx, OnnxEmbedder) and onnx.threads == 1
    custom = Settings(db=tmp_path, embedding_backend="onnx", embedding_model=tmp_path)
    with pytest.raises(ValueError, match="EMBEDDING_BACKEND=torch"):
        _ = Newsdesk(custom).embedder
