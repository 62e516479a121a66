"""Indexing speed: Newsdesk's ``Indexer`` against the plain LangChain pipeline, in one process.

(a) plain: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`` and
    ``langchain_chroma.Chroma.from_documents`` with ``HuggingFaceEmbeddings`` over the packaged
    all-MiniLM-L6-v2 folder (sentence-transformers, fp32, its default batch of 32), into a temp folder;
(b) newsdesk: ``Newsdesk(Settings(db=<temp folder>)).indexer.index_paths(paths)`` at default settings;
(c) newsdesk-torch: the same with ``embedding_backend="torch"`` (fp32; ``--also ''`` leaves it out).

Runs alternate (plain, newsdesk, newsdesk-onnx, then the reverse order, ...) to spread the noise of
a shared machine over all of them. Every model is loaded before the clock starts; each timed run reads
the files, chunks, embeds and writes a fresh index. Each pipeline runs at its own defaults: plain with
torch's default thread count (one per core), Newsdesk with ``NEWSDESK_TORCH_THREADS`` (1) threads per
batch and ``NEWSDESK_EMBEDDING_WORKERS`` (one per core) batches at once. ``--plain-threads 1
--workers 1`` gives every pipeline one core instead, to compare work per CPU.
Memory: the process's resident set (VmRSS in /proc/self/status) sampled every 10 ms during each
run; the peak, and its rise over the run's start.

Usage:
    .venv/bin/python bench/indexing.py [ARTICLES.jsonl ...] [--rounds 2] [--also onnx] [--profile]

``--profile`` then runs each pipeline once more under cProfile and prints where the time goes
(load, chunk, embed, store).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.index.embed import use_torch_threads
from newsdesk.offline import go_offline

go_offline()  # an entry point: no model hub, no telemetry

EVAL_ROOT = Path(os.environ.get("NEWSDESK_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))
DEFAULT_ARTICLES = [
    EVAL_ROOT / "squad2-dev" / "articles.jsonl",
    EVAL_ROOT / "multihop-news" / "articles.jsonl",
]


def rss_kib(field: str = "VmRSS") -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakRss:
    """Samples VmRSS in a thread while the block runs; ``peak`` and ``start`` are in KiB."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib())


@dataclass
class Run:
    pipeline: str
    seconds: float
    cpu_seconds: float
    articles: int
    chunks: int
    peak_kib: int
    rise_kib: int

    def line(self) -> str:
        return (
            f"{self.pipeline:>13}: {self.seconds:6.1f} s ({self.cpu_seconds:5.1f} s CPU), "
            f"{self.articles / self.seconds:6.2f} articles/s, "
            f"{self.chunks / self.seconds:6.1f} chunks/s ({self.articles} articles, {self.chunks} chunks), "
            f"peak RSS {self.peak_kib / 1024:6.0f} MiB (+{self.rise_kib / 1024:.0f} MiB during the run)"
        )


def read_documents(paths: list[Path]) -> list[Any]:
    """The articles as LangChain ``Document``s, as a plain pipeline reads JSON lines."""
    from langchain_core.documents import Document

    docs = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    meta = {k: row.get(k) or "" for k in ("id", "title", "url", "published", "source")}
                    docs.append(Document(page_content=row["text"], metadata=meta))
    return docs


class Plain:
    """The plain LangChain pipeline; the embedding model is loaded once, up front."""

    name = "plain"

    def __init__(self, threads: int) -> None:
        self.threads = threads
        from langchain_huggingface import HuggingFaceEmbeddings

        from newsdesk.index.embed import default_model_path

        self.embeddings = HuggingFaceEmbeddings(
            model_name=str(default_model_path()), model_kwargs={"device": "cpu"}
        )
        self.embeddings.embed_documents(["warm up"])

    def run(self, paths: list[Path], folder: Path) -> tuple[int, int]:
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        use_torch_threads(self.threads)
        docs = read_documents(paths)
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        store = Chroma.from_documents(splits, self.embeddings, persist_directory=str(folder))
        chunks = store._collection.count()
        return len(docs), chunks


class Newsdesk:
    """Newsdesk's indexer at default settings (or another backend); its embedder is warmed up front."""

    def __init__(self, backend: str | None = None, workers: int | None = None) -> None:
        from newsdesk.config import Settings
        from newsdesk.wiring import Newsdesk as Desk

        overrides: dict[str, Any] = {} if backend is None else {"embedding_backend": backend}
        if workers is not None:
            overrides["embedding_workers"] = workers
        self.settings = Settings(**overrides)
        self.name = "newsdesk" if backend is None else f"newsdesk-{backend}"
        self.embedder = Desk(self.settings).embedder
        self.embedder.warm_up()

    def run(self, paths: list[Path], folder: Path) -> tuple[int, int]:
        from newsdesk.wiring import Newsdesk as Desk

        use_torch_threads(self.settings.torch_threads)
        desk = Desk(self.settings.model_copy(update={"db": folder}), embedder=self.embedder)
        report = desk.indexer.index_paths(paths)
        return len(report.added), report.chunks_written


def timed(pipeline: Plain | Newsdesk, paths: list[Path], scratch: Path) -> Run:
    folder = Path(tempfile.mkdtemp(prefix=f"{pipeline.name}-", dir=scratch))
    with PeakRss() as memory:
        started, cpu_started = time.perf_counter(), time.process_time()
        articles, chunks = pipeline.run(paths, folder)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    shutil.rmtree(folder, ignore_errors=True)
    return Run(pipeline.name, seconds, cpu_seconds, articles, chunks, memory.peak, memory.peak - memory.start)


PROFILE_GROUPS: dict[str, dict[str, list[str]]] = {
    "plain": {
        "load (read JSON lines)": ["read_documents"],
        "chunk (RecursiveCharacterTextSplitter)": ["split_documents"],
        "embed (HuggingFaceEmbeddings)": ["embed_documents"],
        "store (Chroma upsert)": ["upsert"],
    },
    "newsdesk*": {
        "load (index.load)": ["load_paths"],
        "chunk (index.chunk)": ["chunk_article"],
        "main thread waiting for embeddings": ["result"],
        "store (write_article(s): upsert + delete stale)": ["write_article", "write_articles"],
        "store (stored_versions lookup)": ["stored_versions"],
    },
}


def profile(pipeline: Plain | Newsdesk, paths: list[Path], scratch: Path) -> None:
    """cProfile of the main thread; Newsdesk embeds on a helper thread, timed here by a wrapper."""
    folder = Path(tempfile.mkdtemp(prefix=f"profile-{pipeline.name}-", dir=scratch))
    profiler = cProfile.Profile()
    embedding = [0.0]
    if isinstance(pipeline, Newsdesk):
        encode = pipeline.embedder.encode

        def timed_encode(texts: list[str]) -> Any:
            begun = time.perf_counter()
            try:
                return encode(texts)
            finally:
                embedding[0] += time.perf_counter() - begun

        pipeline.embedder.encode = timed_encode  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        profiler.runcall(pipeline.run, paths, folder)
    finally:
        if isinstance(pipeline, Newsdesk):
            del pipeline.embedder.encode  # the instance attribute: back to the method
    total = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    stats: dict[Any, Any] = getattr(pstats.Stats(profiler), "stats")  # noqa: B009 (untyped attribute)
    print(f"\nprofile of {pipeline.name} ({total:.1f} s under cProfile; cumulative time per step):")
    groups = PROFILE_GROUPS["plain" if pipeline.name == "plain" else "newsdesk*"]
    for label, names in groups.items():
        seconds = 0.0
        for (filename, _, function), (_, _, _, cumulative, callers) in stats.items():
            outer = any(caller[2] in names for caller in callers)  # count recursion / nested calls once
            if (
                function in names
                and not outer
                and ("site-packages" not in filename or pipeline.name == "plain")
            ):
                seconds += cumulative
        print(f"  {label:<48} {seconds:7.1f} s  {seconds / total:6.1%}")
    if isinstance(pipeline, Newsdesk):
        label = "embed (index.embed encode, on the helper thread)"
        print(f"  {label:<48} {embedding[0]:7.1f} s  {embedding[0] / total:6.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT_ARTICLES, help="articles (.jsonl)")
    parser.add_argument("--rounds", type=int, default=2, help="plain+newsdesk pairs to run (default 2)")
    parser.add_argument("--profile", action="store_true", help="then profile one run of each")
    parser.add_argument(
        "--also",
        default="torch",
        help="other Newsdesk embedding backends to time beside the default one, comma-separated "
        "(default: torch; '' for none)",
    )
    parser.add_argument(
        "--plain-threads", type=int, help="torch threads of the plain pipeline (default: torch's, 1 per core)"
    )
    parser.add_argument("--workers", type=int, help="NEWSDESK_EMBEDDING_WORKERS (default: 1 per core)")
    args = parser.parse_args(argv)

    import torch

    plain_threads = args.plain_threads or torch.get_num_threads()
    scratch = Path(tempfile.mkdtemp(prefix="newsdesk-bench-indexing-"))
    try:
        extra = [b for b in args.also.split(",") if b]
        default_desk = Newsdesk(workers=args.workers)
        pipelines: list[Plain | Newsdesk] = [
            Plain(plain_threads),
            default_desk,
            *(Newsdesk(b, args.workers) for b in extra),
        ]
        backends = ", ".join(
            f"{p.name}: {getattr(p.embedder, 'backend', 'torch')}"
            for p in pipelines
            if isinstance(p, Newsdesk)
        )
        print(
            f"articles: {', '.join(str(p) for p in args.paths)}\n"
            f"threads: plain torch {plain_threads}; newsdesk {default_desk.settings.torch_threads} "
            f"per batch, {default_desk.embedder.workers} batches at once; embedding backends: {backends}; "
            f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at start"
        )
        runs: list[Run] = []
        for round_number in range(args.rounds):
            order = pipelines if round_number % 2 == 0 else pipelines[::-1]
            for pipeline in order:
                run = timed(pipeline, args.paths, scratch)
                runs.append(run)
                print(run.line(), flush=True)

        def rate(name: str, what: Callable[[Run], float]) -> float:
            mine = [r for r in runs if r.pipeline == name]
            return sum(what(r) for r in mine) / sum(r.seconds for r in mine)

        def cpu_per_article(name: str) -> float:
            mine = [r for r in runs if r.pipeline == name]
            return sum(r.cpu_seconds for r in mine) / sum(r.articles for r in mine)

        plain_aps = rate("plain", lambda r: r.articles)
        print(
            f"\nover {args.rounds} rounds: plain {plain_aps:.2f} articles/s "
            f"({rate('plain', lambda r: r.chunks):.1f} chunks/s)"
        )
        for pipeline in pipelines[1:]:
            aps = rate(pipeline.name, lambda r: r.articles)
            cps = rate(pipeline.name, lambda r: r.chunks)
            cpu_ratio = cpu_per_article("plain") / cpu_per_article(pipeline.name)
            print(
                f"{pipeline.name}: {aps:.2f} articles/s ({cps:.1f} chunks/s); ratio {pipeline.name}/plain "
                f"{aps / plain_aps:.2f}x articles/s (bar for default settings: 3x); "
                f"by CPU seconds per article {cpu_ratio:.2f}x"
            )
        print(
            f"process peak RSS (VmHWM) {rss_kib('VmHWM') / 1024:.0f} MiB; "
            f"load average {os.getloadavg()[0]:.1f} at end"
        )
        if args.profile:
            for pipeline in pipelines:
                profile(pipeline, args.paths, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
