"""MinHash signatures of articles: word 5-shingles, 128 permutations, and their similarity."""

from __future__ import annotations

import functools
import re
import zlib
from typing import Any

import numpy as np

NUM_PERM = 128
SHINGLE_WORDS = 5
THRESHOLD = 0.8
MIN_WORDS = 2 * SHINGLE_WORDS
"""Articles shorter than this (in words) are never treated as duplicates: too little to judge."""

_SEED = 1
_SCHEME = "affine32"
_PARAMS = {
    "format": "1",
    "num_perm": str(NUM_PERM),
    "shingle_words": str(SHINGLE_WORDS),
    "seed": str(_SEED),
    "scheme": _SCHEME,
    "hash": "crc32-words-poly64",
}

_WORD = re.compile(r"\w+")
# Odd 64-bit multipliers, one per position in a shingle: a shingle's hash depends on word order.
_POSITION_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)[:SHINGLE_WORDS]


@functools.lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return zlib.crc32(word.encode("utf-8"))


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the word 5-shingles of ``text`` (lower case, punctuation ignored).

    Each word is hashed once (crc32, cached); a shingle's hash combines its words' hashes with
    position-dependent multipliers, vectorised. Stable across processes, unlike ``hash()``.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return np.zeros(0, dtype=np.uint32)
    hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    width = min(SHINGLE_WORDS, len(hashes))
    count = len(hashes) - width + 1
    combined = hashes[:count] * _POSITION_MULTIPLIERS[0]
    for position in range(1, width):
        combined += hashes[position : position + count] * _POSITION_MULTIPLIERS[position]
    folded: np.ndarray = ((combined >> np.uint64(32)) ^ combined).astype(np.uint32)
    return folded


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@functools.cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations


def _minhash(values: np.ndarray | None = None) -> Any:
    from datasketch import MinHash

    return MinHash(
        num_perm=NUM_PERM,
        seed=_SEED,
        scheme=_SCHEME,
        hashfunc=int,
        hashvalues=values,
        permutations=_permutations(),
    )


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of ``text`` (uint32, 128 values), or None when it is too short to judge."""
    if word_count(text) < MIN_WORDS:
        return None
    minhash = _minhash()
    minhash.update_batch(shingle_hashes(text).tolist())
    values: np.ndarray = np.asarray(minhash.hashvalues, dtype=np.uint32)
    return values


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def _decode_signature(blob: bytes) -> np.ndarray | None:
    """A stored signature, or None when the bytes are not ``NUM_PERM`` 32-bit values."""
    if len(blob) != 4 * NUM_PERM:
        return None
    return np.frombuffer(blob, dtype=np.uint32)
