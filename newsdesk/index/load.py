"""Load step: turn files and folders into articles, reporting every file it cannot read.

One broken file never stops a run: it becomes a ``Problem`` naming the file (and line), and the
rest is loaded. Text is kept exactly as read (after decoding) because citations point at
character offsets inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
MAX_FILE_BYTES = 50 * 1024 * 1024
_WESTERN_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")


@dataclass(frozen=True)
class Article:
    """One news article as Newsdesk indexes it; ``text`` is what citations point into."""

    id: str
    title: str
    text: str
    url: str = ""
    published: str = ""
    source: str = ""
    author: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, so unchanged articles are skipped."""
        payload = json.dumps(
            [self.title, self.text, self.url, self.published, self.source, self.author], ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """A file (or one line of it) that could not be loaded, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class UnreadableFile(Exception):
    """Raised for a file that holds no usable text."""


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths`` in a stable order; folders recurse, hidden entries are skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(part.startswith(".") for part in rel):
                    yield child
        else:
            yield path


def decode_bytes(raw: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else the best guess of charset-normalizer."""
    if not raw.strip():
        raise UnreadableFile("empty file")
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        raise UnreadableFile("cannot decode the text (unknown encoding)")
    # Short Western texts fit several code pages equally well; Windows-1252 is by far the likeliest.
    western = [m for m in matches if m.encoding in _WESTERN_ENCODINGS]
    return str(western[0] if western else matches[0])


def decode_lines(raw: bytes) -> str:
    """Decode JSON lines one by one, so one wrongly-encoded line does not garble the others."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = []
    for line in raw.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(decode_bytes(line) if line.strip() else "")
    return "\n".join(lines)


def article_id_for(path: Path, suffix: str = "") -> str:
    """A stable id for a file-based article: its absolute path (plus a line for JSONL)."""
    return f"file://{path.resolve()}{suffix}"


def load_text(path: Path, text: str) -> Article:
    """Plain text: the first non-empty line is the title."""
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Article(id=article_id_for(path), title=title, text=text, url=str(path))


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def load_markdown(path: Path, text: str) -> Article:
    """Markdown: the first heading (or first non-empty line) is the title; text kept verbatim."""
    title = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _MD_HEADING.match(line)
        title = match.group(1) if match else line.strip()
        break
    return Article(id=article_id_for(path), title=title, text=text, url=str(path))


_HTML_BLOCKS = [
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "figcaption",
    "main",
    "aside",
    "nav",
]


def load_html(path: Path, text: str) -> Article:
    """HTML: visible text only (no script, style or markup); title from <title> or <h1>."""
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
    if not visible.strip():
        raise UnreadableFile("HTML file has no visible text")
    if not title:
        title = visible.splitlines()[0][:200]
    return Article(id=article_id_for(path), title=title, text=visible, url=str(path))


def load_jsonl(path: Path, text: str, result: LoadResult) -> None:
    """JSON lines, one article per line: ``text`` required; bad lines are reported, others kept."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            result.problems.append(Problem(str(path), f"broken JSON ({error.msg})", number))
            continue
        if not isinstance(record, dict):
            result.problems.append(Problem(str(path), "line is not a JSON object", number))
            continue
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            result.problems.append(Problem(str(path), "missing or empty 'text'", number))
            continue

        def field_of(name: str, record: dict[str, object] = record) -> str:
            value = record.get(name)
            return value if isinstance(value, str) else ""

        url = field_of("url")
        article_id = field_of("id") or url or article_id_for(path, f"#{number}")
        result.articles.append(
            Article(
                id=article_id,
                title=field_of("title"),
                text=body,
                url=url or f"{path}#{number}",
                published=field_of("published"),
                source=field_of("source"),
                author=field_of("author"),
            )
        )


def load_file(path: Path, result: LoadResult) -> None:
    """Load one file into ``result``; anything wrong with it becomes a Problem."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        result.problems.append(Problem(str(path), f"unsupported file type '{suffix or path.name}'"))
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"file too large ({size // (1024 * 1024)} MB > 50 MB)")
        raw = path.read_bytes()
        if suffix == ".jsonl":
            if not raw.strip():
                raise UnreadableFile("empty file")
            load_jsonl(path, decode_lines(raw), result)
            return
        text = decode_bytes(raw)
        if suffix in (".html", ".htm"):
            article = load_html(path, text)
        elif suffix in (".md", ".markdown"):
            article = load_markdown(path, text)
        else:
            article = load_text(path, text)
    except UnreadableFile as error:
        result.problems.append(Problem(str(path), str(error)))
        return
    except OSError as error:
        result.problems.append(Problem(str(path), f"cannot read file ({error.strerror or error})"))
        return
    result.articles.append(article)


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Load every supported file under ``paths``; missing paths are reported, not raised."""
    result = LoadResult()
    for path in paths:
        if not path.exists():
            result.problems.append(Problem(str(path), "no such file or folder"))
            continue
        for file in iter_files([path]):
            load_file(file, result)
    return result
