"""Helpers shared by the tests: a free port, the ``newsdesk`` command as a user runs it, and a tiny
deterministic embedder for unit tests of pure logic (never the only test of a feature)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from newsdesk.config import REPO_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def newsdesk_command(*args: str) -> list[str]:
    """The ``newsdesk`` command line, run with this interpreter."""
    return [sys.executable, "-m", "newsdesk.cli", *args]


def run_newsdesk(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = REPO_ROOT,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``newsdesk ARGS`` to the end, as a user would, capturing its output."""
    return subprocess.run(
        newsdesk_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input=input,
    )


def start_newsdesk(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``newsdesk ARGS`` in the background, its output piped."""
    return subprocess.Popen(
        newsdesk_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )


class HashingEmbedder(Embeddings):
    """A deterministic stand-in for pure-logic unit tests: bag-of-words vectors from word hashes.

    Texts sharing words get similar vectors, so ranking logic can be tested without the model.
    """

    dimension = 64
    space = "test-hashing"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.strip(".,;:!?\"'").encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


CITATION_FIELDS = frozenset(
    "n article_id title url source published quote start end score also_in field answer_span "
    "verified support verified_by".split()
)
"""The keys of one citation in the ``ask --json`` contract (README)."""


def build_wheel(folder: Path) -> Path:
    """The project's wheel, built into ``folder`` (no dependencies, no isolation: offline)."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(folder),
            ".",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = folder.glob("newsdesk-*.whl")
    return wheel
