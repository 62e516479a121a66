"""Retrieval parity of the int8 ONNX embedder with the fp32 (torch) one, on the same chunks.

For each eval set: chunk its articles as Newsdesk does (``chunk_article`` at default settings, the
headline prepended as the indexer does), embed chunks and questions with both backends, and run exact
dense retrieval (cosine, every chunk scored, no HNSW approximation) for every question. The top-5
distinct articles (by url) of the two backends are compared:

- top-5 agreement: the share of questions whose two top-5 url *sets* are equal (the bar is 98%);
- top-1 agreement: the share whose best article is the same;
- mean cosine between the int8 and fp32 vectors of each chunk and each question (and the minimum);
- recall@5 over ``gold_urls`` for each backend (answerable questions), to show the quality either way.

It also prints how often fp32 itself has a near tie between its 5th and 6th article (where any
change of the vectors may swap them), and the agreement on answerable questions only.

Usage:
    .venv/bin/python bench/embedding_parity.py [EVAL_DIR ...] [--threads 1] [--weights-only] [--floor]

``--weights-only`` also measures ``OnnxEmbedder(quantize_activations=False)`` (the file's int8 weights
expanded to fp32 at load, fp32 arithmetic); ``--floor`` measures fp32 against fp32 with other batches
(the metric's noise floor). Exit code 1 when ``int8`` falls under the bar on a set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.index.chunk import chunk_article, embedding_text
from newsdesk.index.embed import Embedder, OnnxEmbedder
from newsdesk.index.load import load_paths
from newsdesk.offline import go_offline

go_offline()  # an entry point: no model hub, no telemetry

EVAL_ROOT = Path(os.environ.get("NEWSDESK_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval"))
DEFAULT_SETS = [EVAL_ROOT / "squad2-dev", EVAL_ROOT / "multihop-news"]
BAR = 0.98
TOP = 5


def top_articles(scores: np.ndarray, chunk_urls: list[str], top: int = TOP + 1) -> list[tuple[str, float]]:
    """The ``top`` distinct articles of one question as (url, score of its best chunk), best first."""
    found: dict[str, float] = {}
    for index in np.argsort(-scores, kind="stable"):
        url = chunk_urls[index]
        if url not in found:
            found[url] = float(scores[index])
            if len(found) == top:
                break
    return list(found.items())


def rankings(
    chunks: np.ndarray, questions: np.ndarray, chunk_urls: list[str]
) -> list[list[tuple[str, float]]]:
    scores = questions @ chunks.T
    return [top_articles(row, chunk_urls) for row in scores]


def urls(ranked: list[tuple[str, float]], top: int = TOP) -> list[str]:
    return [url for url, _ in ranked[:top]]


def timed_encode(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = embedder.encode(texts)
    return vectors, time.perf_counter() - started


def evaluate_set(folder: Path, embedders: dict[str, Embedder]) -> dict[str, dict[str, float]]:
    loaded = load_paths([folder / "articles.jsonl"])
    chunk_texts: list[str] = []
    chunk_urls: list[str] = []
    for article in loaded.articles:
        for chunk in chunk_article(article):
            chunk_texts.append(embedding_text(article, chunk))
            chunk_urls.append(article.url or article.id)
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open(encoding="utf-8")]
    question_texts = [q["question"] for q in questions]
    print(
        f"\n{folder.name}: {len(loaded.articles)} articles, {len(chunk_texts)} chunks, "
        f"{len(questions)} questions"
    )

    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, embedder in embedders.items():
        chunk_vectors, chunk_seconds = timed_encode(embedder, chunk_texts)
        # Questions one at a time, as embed_query sees them when Newsdesk answers.
        started = time.perf_counter()
        question_vectors = np.stack([embedder.encode([text])[0] for text in question_texts])
        question_seconds = time.perf_counter() - started
        vectors[name] = (chunk_vectors, question_vectors)
        print(
            f"  {name:>17}: chunks {len(chunk_texts) / chunk_seconds:7.1f}/s, "
            f"questions {1000 * question_seconds / len(questions):6.1f} ms each"
        )

    reference_chunks, reference_questions = vectors["fp32"]
    reference = rankings(reference_chunks, reference_questions, chunk_urls)
    reference_urls = [urls(r) for r in reference]
    gold = [set(q.get("gold_urls") or []) for q in questions]
    answerable = [i for i, q in enumerate(questions) if q.get("answerable", True) and gold[i]]
    # How often fp32 itself has a near tie at the edge of its top 5 (5th vs 6th article).
    gaps = np.array([r[TOP - 1][1] - r[TOP][1] for r in reference if len(r) > TOP])

    def recall(ranked: list[list[str]]) -> float:
        values = [len(gold[i] & set(ranked[i])) / len(gold[i]) for i in answerable]
        return float(np.mean(values)) if values else float("nan")

    print(
        f"  {'fp32':>17}: recall@5 {recall(reference_urls):.3f} (reference); score gap between its 5th "
        f"and 6th article: median {np.median(gaps):.4f}, under 0.005 for {np.mean(gaps < 0.005):.1%} "
        f"of questions, under 0.01 for {np.mean(gaps < 0.01):.1%}"
    )
    results: dict[str, dict[str, float]] = {}
    for name, (chunk_vectors, question_vectors) in vectors.items():
        if name == "fp32":
            continue
        ranked = [urls(r) for r in rankings(chunk_vectors, question_vectors, chunk_urls)]
        same5 = [set(a) == set(b) for a, b in zip(ranked, reference_urls, strict=True)]
        same1 = [a[:1] == b[:1] for a, b in zip(ranked, reference_urls, strict=True)]
        chunk_cos = np.sum(chunk_vectors * reference_chunks, axis=1)
        question_cos = np.sum(question_vectors * reference_questions, axis=1)
        results[name] = r = {
            "top5": float(np.mean(same5)),
            "top5_answerable": float(np.mean([same5[i] for i in answerable])),
            "top1": float(np.mean(same1)),
            "chunk_cos_mean": float(chunk_cos.mean()),
            "chunk_cos_min": float(chunk_cos.min()),
            "question_cos_mean": float(question_cos.mean()),
            "question_cos_min": float(question_cos.min()),
            "recall5": recall(ranked),
        }
        print(
            f"  {name:>17}: top-5 set agreement {r['top5']:.1%} "
            f"(answerable only {r['top5_answerable']:.1%}), "
            f"top-1 agreement {r['top1']:.1%}; cosine with fp32: chunks mean {r['chunk_cos_mean']:.4f} "
            f"(min {r['chunk_cos_min']:.4f}), questions mean {r['question_cos_mean']:.4f} "
            f"(min {r['question_cos_min']:.4f}); recall@5 {r['recall5']:.3f}"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS, help="eval set folders")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of both backends (default 1)")
    parser.add_argument(
        "--weights-only", action="store_true", help="also measure the ONNX file with fp32 matrix products"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure fp32 against itself with other batches (the metric's noise floor)",
    )
    args = parser.parse_args(argv)

    embedders: dict[str, Embedder] = {
        "fp32": Embedder(threads=args.threads),
        "int8": OnnxEmbedder(threads=args.threads),
    }
    if args.weights_only:
        embedders["int8-weights-only"] = OnnxEmbedder(threads=args.threads, quantize_activations=False)
    if args.floor:
        embedders["fp32-rebatched"] = Embedder(batch_size=7, threads=args.threads)
    for embedder in embedders.values():
        embedder.warm_up()
    print(f"threads: {args.threads}; bar: top-5 set agreement >= {BAR:.0%} for 'int8'")

    passed = True
    for folder in args.sets:
        results = evaluate_set(folder, embedders)
        passed &= results["int8"]["top5"] >= BAR
    print(f"\nparity {'PASSED' if passed else 'FAILED'} (int8 top-5 agreement >= {BAR:.0%} on every set)")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
