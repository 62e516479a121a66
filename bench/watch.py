"""The watch loop's cost per round, beside indexing the same feeds again from scratch each round.

A local HTTP server on 127.0.0.1 serves FEEDS RSS feeds of ENTRIES entries each; every entry links to a
news page made from a real article of ARTICLES.jsonl (default: the shared multihop-news set) wrapped in
a news site's furniture (menus, cookie banner, related list, comments, footer, OpenGraph and JSON-LD).
Three rounds, each timed (wall clock and CPU seconds of this process, which runs server and client):

1. first: every entry is new (fetch, extract, embed, write);
2. unchanged: nothing changed (watch: one conditional request per feed, answered 304);
3. one new: each feed gains one entry at its top.

(a) watch: ``newsdesk.index.watch.Watcher.poll_round`` (conditional requests, entry digests);
(b) re-index: what a cron job of ``newsdesk index FEED...`` does each round: every feed and every
    entry's page fetched and extracted again, the indexer then finding the unchanged ones by content hash.

Both use the real ONNX embedder and a fresh embedded index each, and the fetcher with
``host_interval=0`` (one local host would otherwise be spaced 1 s per request).

Usage:
    .venv/bin/python bench/watch.py [--articles ../shared/eval/multihop-news/articles.jsonl]
        [--feeds 4] [--entries 25]
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.config import Settings
from newsdesk.index.feeds import SourceLoader
from newsdesk.index.fetch import Fetcher
from newsdesk.index.watch import FeedState, Watcher, state_path
from newsdesk.offline import go_offline
from newsdesk.wiring import Newsdesk
from tests.index.news_server import NewsServer

PAGE = """<!doctype html><html><head><title>{title} | {source}</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="{source}">
<meta property="article:published_time" content="{published}T08:00:00Z">
<link rel="canonical" href="https://{host}/story/{n}">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": {title_json}}}</script></head>
<body><div class="cookie-banner">We and our 212 partners use cookies to personalise ads. Accept all?</div>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/sport">Sport</a></nav>
<article><h1>{title}</h1><div class="byline">By Staff · <time datetime="{published}">{published}</time></div>
{paragraphs}</article>
<aside><h3>Related stories</h3><ul><li><a href="/r/1">Markets close higher on tech rally</a></li>
<li><a href="/r/2">Storm warning issued for the coast</a></li></ul></aside>
<section class="comments"><p>reader42: Great article, thanks.</p></section>
<footer><p>© {source}. All rights reserved.</p><a href="/privacy">Privacy</a></footer></body></html>"""


def page_for(article: dict[str, str], n: int) -> str:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article["text"].split("\n") if p.strip())
    title = article.get("title") or f"Story {n}"
    return PAGE.format(
        title=html.escape(title),
        title_json=json.dumps(title),
        source=html.escape(article.get("source") or "Wire"),
        published=article.get("published") or "2024-01-01",
        host="news.example",
        n=n,
        paragraphs=paragraphs,
    )


def rss(title: str, links: list[str]) -> str:
    items = "".join(
        f"<item><title>Entry</title><link>{link}</link><guid>{link}</guid></item>" for link in links
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'


def timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = (
        Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "multihop-news" / "articles.jsonl"
    )
    parser.add_argument("--articles", type=Path, default=default)
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--entries", type=int, default=25)
    parser.add_argument(
        "--reindex-first", action="store_true", help="time re-index before watch in each round"
    )
    args = parser.parse_args()
    go_offline()
    rows = [
        json.loads(line) for line in args.articles.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    needed = args.feeds * (args.entries + 1)
    rows = rows[:needed]
    assert len(rows) == needed, f"{args.articles} holds {len(rows)} articles; {needed} needed"

    with NewsServer() as server, tempfile.TemporaryDirectory(prefix="newsdesk-bench-watch-") as scratch:
        for n, row in enumerate(rows):
            server.serve(f"/story/{n}", page_for(row, n))
        feeds = [server.url(f"/feed-{f}.xml") for f in range(args.feeds)]

        def publish(extra: int) -> None:
            """Each feed lists its entries, the newest ``extra`` first (a new ETag each time)."""
            for f in range(args.feeds):
                first = f * (args.entries + 1)
                numbers = list(range(first + 1, first + 1 + args.entries))
                if extra:
                    numbers.insert(0, first)
                links = [server.url(f"/story/{n}") for n in numbers]
                server.serve(
                    f"/feed-{f}.xml", rss(f"Feed {f}", links), content_type="application/rss+xml",
                    etag=f'"{f}-{extra}"',
                )  # fmt: skip

        fetcher = Fetcher(
            user_agent="Newsdesk/bench",
            host_interval=0.0,
            retries=0,
            allow=(ipaddress.ip_network("127.0.0.1/32"),),
        )
        results: dict[str, list[tuple[float, float]]] = {"watch": [], "re-index": []}
        desks = {}
        for name in results:
            settings = Settings(db=Path(scratch) / name / "index", home=Path(scratch) / name)  # type: ignore[arg-type]
            desks[name] = Newsdesk(settings)
        desks["watch"].embedder.warm_up()
        desks["re-index"].embedder = desks["watch"].embedder  # one model, loaded before the clock
        watcher = Watcher(
            feeds, desks["watch"].indexer, fetcher, FeedState(state_path(desks["watch"].settings))
        )

        def reindex() -> None:
            loaded = SourceLoader(fetcher).load(feeds)
            desks["re-index"].indexer.index_articles(loaded.articles)

        for extra in (0, 0, 1):
            publish(extra)
            runs = [("watch", watcher.poll_round), ("re-index", reindex)]
            for name, run in reversed(runs) if args.reindex_first else runs:
                results[name].append(timed(run))
        fetcher.close()
        chunks = desks["watch"].store.count()
        assert chunks == desks["re-index"].store.count(), "both pipelines must index the same chunks"

    total = args.feeds * args.entries
    print(
        f"{args.feeds} feeds x {args.entries} entries: {total} pages then {args.feeds} new, {chunks} chunks; "
        + ("re-index first" if args.reindex_first else "watch first")
    )
    print("| round | watch: wall s (CPU s) | re-index: wall s (CPU s) | re-index / watch (wall) |")
    print("|---|---|---|---|")
    for label, watch, again in zip(
        ("1. first (all new)", "2. unchanged", "3. one new entry per feed"),
        results["watch"],
        results["re-index"],
        strict=True,
    ):
        ratio = again[0] / watch[0]
        print(
            f"| {label} | {watch[0]:.2f} ({watch[1]:.2f}) | {again[0]:.2f} ({again[1]:.2f}) | {ratio:.1f}x |"
        )


if __name__ == "__main__":
    main()
