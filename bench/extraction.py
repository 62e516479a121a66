"""Extraction quality on saved news pages: the old visible-text reader against the article extractor.

Each page in ``bench/pages/`` (hand-written, modelled on real news sites: menus, cookie and consent
banners, related and most-read lists, comments, newsletter and donation boxes, footers, OpenGraph and
JSON-LD metadata) comes with ``NAME.gold.txt`` (the article's own lines: headline, standfirst, body,
subheadings, captions) and ``NAME.meta.json`` (its headline, date, outlet, author and canonical URL).

For each reader:
- boilerplate share: characters of the indexed text on lines that are not part of the article (a line
  counts as the article's when, folded, it stands inside the gold text), over all indexed characters;
- article recall: characters of gold lines found in the indexed text, over all gold characters;
- metadata: fields of ``meta.json`` the reader got right (title, published, source, author, url);
- time per page.

(a) before: the BeautifulSoup visible-text reader Newsdesk used until this change (copied below as it was
    in ``newsdesk/index/load.py``);
(b) after: ``newsdesk.index.load.load_html`` (trafilatura plus Newsdesk's link-list and headline rules).

Usage:
    .venv/bin/python bench/extraction.py [--pages bench/pages] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsdesk.index.load import Article, article_id_for, file_url, load_html

FIELDS = ("title", "published", "source", "author", "url")


_HTML_BLOCKS = [
    *("p", "div", "section", "article", "header", "footer", "li", "ul", "ol"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "td", "th"),
    *("figcaption", "main", "aside", "nav"),
]


def visible_text(path: Path, text: str) -> Article:
    """The reader before this change: visible text only; title from <title> or <h1>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]):
        if tag.name == "head":
            continue
        tag.decompose()
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if soup.head is not None:
        soup.head.decompose()
    body = soup.body or soup
    for tag in body.find_all(_HTML_BLOCKS):
        tag.insert_after("\n")
    for br in body.find_all("br"):
        br.replace_with("\n")
    blocks = [" ".join(chunk.split()) for chunk in body.get_text().split("\n")]
    visible = "\n".join(block for block in blocks if block)
    return Article(id=article_id_for(path), title=title, text=visible, url=file_url(path))


_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|>\s+)")


def fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w%£$€.,]+", " ", text.casefold()).split())


@dataclass
class Score:
    indexed: int = 0
    boilerplate: int = 0
    gold: int = 0
    found: int = 0
    fields_right: int = 0
    fields: int = 0
    seconds: float = 0.0
    pages: int = 0

    def add(self, article: Article, gold_lines: list[str], meta: dict[str, str], seconds: float) -> list[str]:
        gold_text = fold("\n".join(gold_lines))
        leaks = []
        for line in article.text.splitlines():
            if not line.strip():
                continue
            self.indexed += len(line)
            if fold(_MARKS.sub("", line)) not in gold_text:
                self.boilerplate += len(line)
                leaks.append(line)
        indexed = fold(article.title + "\n" + article.text)
        for line in gold_lines:
            self.gold += len(line)
            self.found += len(line) if fold(line) in indexed else 0
        for name in FIELDS:
            self.fields += 1
            self.fields_right += getattr(article, name) == meta[name]
        self.seconds += seconds
        self.pages += 1
        return leaks

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.boilerplate / self.indexed:.1%} ({self.boilerplate:,} of {self.indexed:,}) "
            f"| {self.found / self.gold:.1%} | {self.fields_right}/{self.fields} "
            f"| {1000 * self.seconds / self.pages:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=Path, default=Path(__file__).parent / "pages")
    parser.add_argument("--repeat", type=int, default=5, help="times each page is read (for the timing)")
    parser.add_argument("--leaks", action="store_true", help="print the lines counted as boilerplate")
    args = parser.parse_args()
    readers: dict[str, Callable[[Path, str], Article]] = {
        "before: visible text (BeautifulSoup)": visible_text,
        "after: trafilatura + link-list rules": load_html,
    }
    scores = {name: Score() for name in readers}
    pages = sorted(args.pages.glob("*.html"))
    load_html(pages[0], pages[0].read_text(encoding="utf-8"))  # imports and first-call costs off the clock
    for page in pages:
        html = page.read_text(encoding="utf-8")
        gold = [
            line for line in page.with_suffix(".gold.txt").read_text(encoding="utf-8").splitlines() if line
        ]
        meta = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
        for name, read in readers.items():
            start = time.perf_counter()
            for _ in range(args.repeat):
                article = read(page, html)
            seconds = (time.perf_counter() - start) / args.repeat
            leaks = scores[name].add(article, gold, meta, seconds)
            if args.leaks and leaks:
                print(f"{page.name} [{name}] boilerplate lines:")
                for line in leaks:
                    print(f"    {line[:100]}")
    print(f"{len(pages)} pages in {args.pages}")
    print("| reader | boilerplate share of indexed characters | article recall | metadata right | ms/page |")
    print("|---|---|---|---|---|")
    for name, score in scores.items():
        print(score.row(name))


if __name__ == "__main__":
    main()
