"""Scale: index up to 100,000 chunks and measure indexing rate, disk, memory and ``ask`` latency.

The corpus is the eval sets' real articles (indexed first, so the questions have their answers)
followed by synthetic articles: random runs of 6 to 30 sentences drawn from the real articles, each
with a unique id, url, outlet and date, so they chunk like news and none repeats another. A fixed seed
makes the corpus the same on every run.

Articles go into one index (``Newsdesk(Settings(db=...))`` at default settings, the backend chosen
with ``--backend``) until the number of chunks reaches each milestone (1k, 10k, 100k by default). At
each milestone it reports: the indexing rate of that stage and overall (chunks/s), the index
folder's size on disk, the process's peak memory (VmHWM) and its current RSS, and ``qa.ask`` p50/p95
over ``--questions`` eval questions (one warm-up question first).

Usage:
    .venv/bin/python bench/scale.py [--max-chunks 100000] [--backend onnx] [--questions 50]
                                    [--db DIR] [--json results.json] [--time-limit SECONDS]

Quick check: ``--max-chunks 2000`` (milestones above the maximum are dropped; the maximum itself is
always one). ``--time-limit`` stops indexing when exceeded and measures where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.config import Settings
from newsdesk.index.load import Article, load_paths
from newsdesk.offline import go_offline
from newsdesk.reading.sentences import sentence_spans
from newsdesk.wiring import Newsdesk

go_offline()  # an entry point: no model hub, no telemetry

EVAL_ROOT = Path(os.environ.get("NEWSDESK_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))
EVAL_SETS = [EVAL_ROOT / "squad2-dev", EVAL_ROOT / "multihop-news"]


def status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def folder_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk (allocated blocks, as ``du`` counts them)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a file Chroma removed meanwhile
                total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total


def synthetic_articles(real: list[Article], seed: int = 0) -> Iterator[Article]:
    """Endless new articles made of sentences of ``real``, each unique."""
    rng = random.Random(seed)
    sentences = [a.text[s:e] for a in real for s, e in sentence_spans(a.text)]
    sentences = [s for s in sentences if 20 <= len(s) <= 400]
    sources = sorted({a.source for a in real if a.source}) or ["Synthetic Times"]
    number = 0
    while True:
        number += 1
        body = rng.sample(sentences, rng.randint(6, 30))
        paragraphs = [" ".join(body[i : i + 4]) for i in range(0, len(body), 4)]
        title = rng.choice(sentences)[:90].rstrip()
        yield Article(
            id=f"synthetic-{number:07d}",
            title=f"{title} ({number})",
            text="\n\n".join(paragraphs),
            url=f"https://synthetic.example/{number:07d}",
            published=f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            source=rng.choice(sources),
        )


def sample_questions(count: int, seed: int = 0) -> list[str]:
    questions: list[str] = []
    for folder in EVAL_SETS:
        with (folder / "questions.jsonl").open(encoding="utf-8") as lines:
            questions += [json.loads(line)["question"] for line in lines if line.strip()]
    return random.Random(seed).sample(questions, min(count, len(questions)))


def ask_latency(desk: Newsdesk, questions: list[str], warmup: Sequence[str] = ()) -> dict[str, float]:
    """``qa.ask`` timings over ``questions``, after one fixed warm-up question and then ``warmup``."""
    desk.qa.ask("What is this index about?")  # warm-up: loads the BM25 mirror, caches, etc.
    for question in warmup:  # other questions: warm the word statistics as a serving process has them
        desk.qa.ask(question)
    times, retrieving = [], []
    for question in questions:
        started = time.perf_counter()
        answer = desk.qa.ask(question)
        times.append((time.perf_counter() - started) * 1000)
        retrieving.append(answer.timings_ms.get("retrieve", 0.0))
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "mean_ms": float(np.mean(times)),
        "retrieve_p50_ms": float(np.percentile(retrieving, 50)),
        "retrieve_p95_ms": float(np.percentile(retrieving, 95)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-chunks", type=int, default=100_000, help="stop at this many chunks")
    parser.add_argument("--milestones", default="1000,10000,100000", help="chunk counts to measure at")
    parser.add_argument("--backend", choices=["torch", "onnx"], default=None, help="default: Settings'")
    parser.add_argument("--questions", type=int, default=50, help="questions timed per milestone")
    parser.add_argument("--db", type=Path, default=None, help="index folder (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temp index folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds of indexing at most")
    parser.add_argument(
        "--group", type=int, default=512, help="articles per indexing call at most (default 512: 8 batches)"
    )
    parser.add_argument(
        "--warmup", type=int, default=0, help="other eval questions asked, untimed, before timing (default 0)"
    )
    parser.add_argument(
        "--ask-only", action="store_true", help="index nothing: time questions on the existing --db"
    )
    args = parser.parse_args(argv)

    def stopped(signum: int, frame: object) -> None:  # say so in the log, then stop as usual
        print(f"stopped by signal {signal.Signals(signum).name}", flush=True)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)

    milestones = sorted({m for m in map(int, args.milestones.split(",")) if m < args.max_chunks})
    milestones.append(args.max_chunks)
    folder = args.db or Path(tempfile.mkdtemp(prefix="newsdesk-scale-"))
    overrides: dict[str, Any] = {"db": folder}
    if args.backend:
        overrides["embedding_backend"] = args.backend
    settings = Settings(**overrides)
    desk = Newsdesk(settings)
    desk.embedder.warm_up()
    real = load_paths([eval_set / "articles.jsonl" for eval_set in EVAL_SETS]).articles
    sampled = sample_questions(args.questions + args.warmup)
    questions, warmup = sampled[: args.questions], sampled[args.questions :]
    if args.ask_only:
        if args.db is None:
            parser.error("--ask-only needs --db")
        row = {"chunks": desk.store.count(), **ask_latency(desk, questions, warmup)}
        print(
            f"{row['chunks']} chunks; {len(warmup)} warm-up questions; ask p50 {row['p50_ms']:.0f} ms, "
            f"p95 {row['p95_ms']:.0f} ms (retrieval p50 {row['retrieve_p50_ms']:.0f}, "
            f"p95 {row['retrieve_p95_ms']:.0f}); load average {os.getloadavg()[0]:.1f}"
        )
        if args.json:
            args.json.write_text(json.dumps(row, indent=1), encoding="utf-8")
        return 0
    print(
        f"index: {folder}; backend {settings.embedding_backend} ({type(desk.embedder).__name__}), "
        f"{settings.torch_threads} thread(s); cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
        f"milestones {milestones}; {len(questions)} questions",
        flush=True,
    )

    articles: Iterator[Article] = iter(real)
    synthetic = synthetic_articles(real)
    results: list[dict[str, Any]] = []
    chunks = duplicates = indexed_articles = 0
    indexing_seconds = stage_seconds = 0.0
    stage_chunks = 0
    real_left = len(real)
    next_report = 5000
    try:
        for milestone in milestones:
            while chunks < milestone:
                if args.time_limit is not None and indexing_seconds >= args.time_limit:
                    break
                per_article = chunks / indexed_articles if indexed_articles else 3.0
                want = max(1, min(args.group, int((milestone - chunks) / max(per_article, 1.0)) + 1))
                if real_left > 0:
                    batch = [next(articles) for _ in range(min(want, real_left))]
                    real_left -= len(batch)
                else:
                    batch = [next(synthetic) for _ in range(want)]
                started = time.perf_counter()
                report = desk.indexer.index_articles(batch)
                elapsed = time.perf_counter() - started
                indexing_seconds += elapsed
                stage_seconds += elapsed
                chunks += report.chunks_written
                stage_chunks += report.chunks_written
                indexed_articles += len(report.added)
                duplicates += len(report.duplicates)
                if chunks >= next_report:
                    print(
                        f"  {chunks} chunks, {indexed_articles} articles in {indexing_seconds:.0f} s "
                        f"({chunks / indexing_seconds:.1f} chunks/s); "
                        f"RSS {status_kib('VmRSS') / 1024:.0f} MiB",
                        flush=True,
                    )
                    next_report += 5000
            latency = ask_latency(desk, questions, warmup)
            row = {
                "chunks": chunks,
                "articles": indexed_articles,
                "duplicates_skipped": duplicates,
                "stage_chunks_per_s": stage_chunks / stage_seconds if stage_seconds else 0.0,
                "overall_chunks_per_s": chunks / indexing_seconds if indexing_seconds else 0.0,
                "indexing_s": indexing_seconds,
                "disk_mib": folder_bytes(folder) / 2**20,
                "peak_rss_mib": status_kib("VmHWM") / 1024,
                "rss_mib": status_kib("VmRSS") / 1024,
                "load_average": os.getloadavg()[0],
                **latency,
            }
            results.append(row)
            print(
                f"milestone {milestone}: {chunks} chunks ({indexed_articles} articles, "
                f"{duplicates} duplicates skipped); "
                f"indexing {row['stage_chunks_per_s']:.1f} chunks/s this stage, "
                f"{row['overall_chunks_per_s']:.1f} overall ({indexing_seconds:.0f} s); disk "
                f"{row['disk_mib']:.1f} MiB; peak RSS {row['peak_rss_mib']:.0f} MiB "
                f"(now {row['rss_mib']:.0f}); "
                f"ask p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms "
                f"(retrieval p50 {row['retrieve_p50_ms']:.0f}, p95 {row['retrieve_p95_ms']:.0f}); "
                f"load average {row['load_average']:.1f}",
                flush=True,
            )
            stage_seconds, stage_chunks = 0.0, 0
            if args.json is not None:  # after every milestone, so a run cut short keeps what it measured
                payload = {"settings": overrides | {"db": str(folder)}, "results": results}
                args.json.write_text(json.dumps(payload, indent=1))
            if args.time_limit is not None and indexing_seconds >= args.time_limit:
                print(f"time limit of {args.time_limit:.0f} s reached at {chunks} chunks", flush=True)
                break
        peak_gib = max(r["peak_rss_mib"] for r in results) / 1024
        print(f"peak memory {peak_gib:.2f} GiB (bar: under 3 GiB): {'ok' if peak_gib < 3 else 'OVER'}")
        if args.json is not None:
            args.json.write_text(
                json.dumps({"settings": overrides | {"db": str(folder)}, "results": results}, indent=1)
            )
    finally:
        if args.db is None and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
