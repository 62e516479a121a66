"""Batching for both backends: texts of similar length together, on every core."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np


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
