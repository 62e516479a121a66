"""Load step: turn files and folders into articles, reporting every file it cannot read.

One broken file never stops a run: it becomes a ``Problem`` naming the file (and line), and the
rest is loaded. Text is kept exactly as read (after decoding) because citations point at
character offsets inside it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from newsdesk.dates import normalise_published

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
MAX_FILE_BYTES = 50 * 1024 * 1024
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")


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
    origin: str = ""
    """The file it was read from (absolute, symlinks resolved), '' when it came from no file. Not part
    of the content: the same article read from another file is unchanged."""
    line: int | None = None
    """Its line in a JSONL file."""

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
    """Raised for a file that holds no usable text (``line``: where in it, when one line is to blame)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


def canonical(path: Path) -> Path:
    """The file behind ``path``: absolute, symlinks resolved; a symlink loop is left as it is."""
    return Path(os.path.realpath(path))


def _os_reason(path: Path, error: OSError) -> str:
    """Why ``path`` cannot be opened, in words."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno == errno.ENOENT:
        return "broken symbolic link" if path.is_symlink() else "no such file or folder"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read ({error.strerror or error})"


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file): FIFOs and devices can block."""
    if stat.S_ISREG(mode):
        return None
    kinds = [
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return f"not a regular file ({kind})"


def iter_files(folder: Path, result: LoadResult) -> list[Path]:
    """Files under ``folder`` in a stable order; folders recurse, hidden entries are skipped.

    Whatever cannot be read as a file is reported in ``result``, not skipped in silence: symlink
    loops, broken links, FIFOs and devices, unreadable folders. A symbolic link to a folder is
    reported rather than followed (following could loop, and its files live elsewhere).
    """
    files: list[Path] = []

    def visit(directory: Path) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as error:
            result.problems.append(Problem(str(directory), _os_reason(directory, error)))
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name == FOLDER_DEFAULTS:
                continue
            path = Path(entry.path)
            try:
                mode = entry.stat().st_mode  # follows a symlink
            except OSError as error:
                result.problems.append(Problem(str(path), _os_reason(path, error)))
                continue
            if stat.S_ISDIR(mode):
                if entry.is_symlink():
                    reason = "symbolic link to a folder, not followed (pass the folder itself)"
                    result.problems.append(Problem(str(path), reason))
                else:
                    visit(path)
            else:
                files.append(path)  # load_file reports a FIFO or device without opening it

    visit(folder)
    return files


def _check_regular(info: os.stat_result) -> None:
    reason = _not_regular(info.st_mode)
    if reason is None and info.st_size > MAX_FILE_BYTES:
        reason = f"file too large ({info.st_size // (1024 * 1024)} MB > 50 MB)"
    if reason is not None:
        raise UnreadableFile(reason)


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_FILE_BYTES``.

    Anything else is refused before it is read: a FIFO would block the run (holding the index lock),
    a device could be endless. The file is opened non-blocking and checked again once open, so one
    swapped in meanwhile cannot block either.
    """
    try:
        _check_regular(os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise UnreadableFile(_os_reason(path, error)) from None
    with os.fdopen(fd, "rb") as handle:
        _check_regular(os.fstat(fd))
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise UnreadableFile("file too large (over 50 MB)")
    return raw


# Characters that never occur in text: controls (other than tab, line and page breaks), unassigned or
# private-use code points, and the replacement character of a failed decode.
_UNPRINTABLE = frozenset(("Cc", "Cn", "Co", "Cs"))
_TEXT_CONTROLS = frozenset("\t\n\r\f")


def _unprintable(text: str) -> int:
    return sum(
        1
        for c in text
        if (unicodedata.category(c) in _UNPRINTABLE and c not in _TEXT_CONTROLS) or c == "\ufffd"
    )


_RARE_SIGNS = frozenset("¤¦¨¯´¸µ¶·•†‡‰ˆ˜ƒ¬")
_NEWS_SIGNS = frozenset("±×÷½¼¾²³¹")  # scores, weather, prices


def _rare_sign(char: str) -> bool:
    """A sign prose seldom uses (math and modifier signs, the odd signs of Latin code pages) or a
    character outside the Basic Multilingual Plane other than an emoji: common in mojibake."""
    if char in _RARE_SIGNS:
        return True
    if unicodedata.category(char) in ("Sk", "Sm", "No"):
        return char not in _NEWS_SIGNS
    return ord(char) > 0xFFFF and unicodedata.category(char) != "So"


def _script(char: str) -> str | None:
    """A letter's script, coarsely (ASCII letters apart from other Latin ones); None for a non-letter."""
    if not char.isalpha():
        return None
    if char.isascii():
        return "ascii"
    name = unicodedata.name(char, "")
    if "HALFWIDTH KATAKANA" in name:
        return "halfwidth"
    for script in ("LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "HANGUL", "THAI"):
        if name.startswith(script):
            return script
    if "CJK" in name or "HIRAGANA" in name or "KATAKANA" in name:
        return "CJK"
    return "other"


def garbled(text: str) -> str | None:
    """Why a text decoded from a guessed code page is not text, or None when it reads as text.

    Bytes that are not text (random, compressed, an image) decode in some code page into a soup:
    control characters, symbols, accented letters in most places, scripts or case switching inside
    words. Real text in any language has few of each, however short it is (measured on random byte
    strings against short news sentences in a dozen encodings: over 99.5% of random strings of 18
    bytes and more are refused, no real sentence is).
    """
    text = text.rstrip("\x1a")  # the end-of-file mark of old DOS files
    if not text.strip():
        return "empty file"
    if _unprintable(text):
        return "control characters"
    scripts = [_script(c) for c in text]
    letters = [s for s in scripts if s is not None]
    if not letters:
        return "no letters"
    symbols = sum(1 for c in text if _rare_sign(c))
    latin = [s for s in letters if s in ("ascii", "LATIN")]
    switches = flips = 0
    previous: str | None = None
    previous_char = ""
    for char, script in zip(text, scripts, strict=True):
        if script is None:
            if not char.isdigit():
                previous, previous_char = None, ""
            continue
        family = "latin" if script in ("ascii", "LATIN") else script
        switches += previous is not None and family != previous
        flips += previous_char.islower() and char.isupper()
        previous, previous_char = family, char
    if symbols > 0.08 * len(text):
        return "mostly symbols"
    if len(latin) * 2 >= len(letters) and sum(s == "LATIN" for s in latin) > 0.35 * len(latin):
        return "accented letters everywhere"
    if switches > 0.15 * len(letters):
        return "scripts mixed inside words"
    if flips > 0.1 * len(letters):
        return "case switching inside words"
    return None


def decode_bytes(raw: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else line by line when UTF-8 and other lines are mixed,
    else Windows-1252, else charset-normalizer's guesses.

    A guess is kept only if it reads as text (``garbled``): short Western texts fit several code
    pages, and Windows-1252 is by far the likeliest of them; bytes that are not text at all are
    refused rather than indexed as mojibake. UTF-16 and UTF-32 are taken only with their BOM (without
    one, Latin text in them is full of NUL bytes, and a guess of them is usually random bytes).
    """
    if not raw.strip():
        raise UnreadableFile("empty file")
    if b"\x00" in raw[:8192] and not raw.startswith(_UNICODE_BOMS[:2]):
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        mixed = (
            None if raw.startswith(_UNICODE_BOMS[:2]) else _decode_mixed(raw.removeprefix(_UNICODE_BOMS[2]))
        )
        if mixed is None:
            return _decode_legacy(raw)
        text = mixed
    if _unprintable(text) > len(text) // 100:
        raise UnreadableFile("not text (control characters)")
    return text


def _decode_mixed(raw: bytes) -> str | None:
    """A file of UTF-8 lines and lines in another encoding (text pasted together from several
    sources): each UTF-8 line as UTF-8, the other lines decoded together by ``_decode_legacy`` (so a
    code page is guessed from all of them at once). None when no line holds UTF-8 beyond ASCII: the
    file is then in one code page throughout, and is better decoded whole."""
    lines = raw.split(b"\n")
    decoded: list[str | None] = []
    utf8_beyond_ascii = False
    for line in lines:
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(None)
        else:
            utf8_beyond_ascii = utf8_beyond_ascii or not line.isascii()
    others = [line for line, text in zip(lines, decoded, strict=True) if text is None]
    if not utf8_beyond_ascii or not others:
        return None
    together = _decode_legacy(b"\n".join(others)).split("\n")
    if len(together) != len(others):  # a multi-byte code page ate a line break: one line at a time
        together = [_decode_legacy(line) for line in others]
    replacements = iter(together)
    return "\n".join(text if text is not None else next(replacements) for text in decoded)


def _decode_legacy(raw: bytes) -> str:
    """Bytes that are not UTF-8: Windows-1252, else charset-normalizer's guesses, the first that reads
    as text; ``UnreadableFile`` when none does."""
    from charset_normalizer import from_bytes

    guesses: list[str] = []
    with contextlib.suppress(UnicodeDecodeError):
        guesses.append(raw.decode("cp1252"))
    matches = [
        m
        for m in from_bytes(raw)
        if not m.encoding.startswith(("utf_16", "utf_32")) or raw.startswith(_UNICODE_BOMS[:2])
    ]
    guesses.extend(str(m) for m in matches)
    if not guesses:
        raise UnreadableFile("cannot decode the text (unknown encoding)")
    for guess in guesses:
        if garbled(guess) is None:
            return guess
    raise UnreadableFile("not text (garbled in every encoding tried)")


def decode_lines(raw: bytes) -> list[str | UnreadableFile]:
    """Decode JSON lines one by one, so one wrongly-encoded line does not garble (or lose) the others.

    Lines end at newlines only: JSON strings may hold U+2028 and other characters that
    ``str.splitlines`` would split on.
    """
    try:
        return list(raw.decode("utf-8-sig").split("\n"))
    except UnicodeDecodeError:
        pass
    lines: list[str | UnreadableFile] = []
    for line in raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                lines.append(decode_bytes(line))
            except UnreadableFile as error:
                lines.append(error)
    return lines


def article_id_for(path: Path, suffix: str = "") -> str:
    """A stable id for a file-based article: its canonical path (plus a line for JSONL), so every
    spelling of the path (relative, through a link) names the same article."""
    return f"file://{canonical(path)}{suffix}"


def file_url(path: Path) -> str:
    """The link stored for a file-based article: its canonical path as a file:// URI, for the same
    reason (a path as typed would make the article look changed whenever it is typed otherwise)."""
    return canonical(path).as_uri()


FRONT_MATTER_FIELDS = {
    "title": "title",
    "source": "source",
    "outlet": "source",
    "published": "published",
    "date": "published",
    "url": "url",
    "author": "author",
}
"""Front matter keys Newsdesk reads, and the article field each one fills; other keys are ignored."""

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>(?:.*?\n)??)(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def _front_matter_value(value: object) -> str:
    """A front matter value as text (a list of authors joined)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(v.strip() for v in value)
    if isinstance(value, str):
        return " ".join(value.split())
    raise ValueError(f"{value!r} is not text")


@functools.cache
def _yaml_loader() -> Any:
    """YAML's safe loader with dates left as written, so the one date rule (``dates.py``) reads them:
    YAML's own would turn 2024-02-30 into an error without a line, and move date-times to UTC."""
    import yaml

    class TextDates(yaml.SafeLoader):
        pass

    TextDates.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return TextDates


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The YAML front matter's fields (``FRONT_MATTER_FIELDS``) and the text after it.

    A file without front matter gives no fields and its whole text. Broken YAML, a field that is not
    text, or a ``published`` that is not a day is an ``UnreadableFile`` naming the line: the article is
    skipped rather than indexed with its metadata lost (and left out of every date or outlet filter).
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    import yaml

    try:
        data = yaml.load(match["yaml"], Loader=_yaml_loader()) if match["yaml"].strip() else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise UnreadableFile(
            f"broken front matter ({getattr(error, 'problem', None) or error})", line
        ) from None
    if not isinstance(data, dict):
        raise UnreadableFile("front matter is not a list of 'key: value' fields", 2)
    lines = match["yaml"].splitlines()
    fields: dict[str, str] = {}
    for key, value in data.items():
        name = FRONT_MATTER_FIELDS.get(str(key).lower())
        if name is None or value is None:
            continue
        line = 2 + next((i for i, row in enumerate(lines) if row.lstrip().startswith(f"{key}:")), 0)
        try:
            fields[name] = _front_matter_value(value)
            if name == "published":
                fields[name] = normalise_published(fields[name])
        except ValueError as error:
            raise UnreadableFile(f"front matter field '{key}': {error}", line) from None
    return fields, text[match.end() :]


def _with_front_matter(path: Path, text: str, title_of: Callable[[str], str]) -> Article:
    fields, body = split_front_matter(text)
    if not body.strip():
        raise UnreadableFile("no text after the front matter")
    return Article(
        id=article_id_for(path),
        title=fields.get("title") or title_of(body),
        text=body,
        url=fields.get("url") or file_url(path),
        published=fields.get("published", ""),
        source=fields.get("source", ""),
        author=fields.get("author", ""),
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def load_text(path: Path, text: str) -> Article:
    """Plain text: YAML front matter if any (see ``split_front_matter``); else the first non-empty line
    is the title."""
    return _with_front_matter(path, text, _first_line)


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def _markdown_title(text: str) -> str:
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _MD_HEADING.match(line)
        return match.group(1) if match else line.strip()
    return ""


def load_markdown(path: Path, text: str) -> Article:
    """Markdown: YAML front matter if any; the title is its ``title``, else the first heading (or first
    non-empty line); text kept verbatim."""
    return _with_front_matter(path, text, _markdown_title)


def load_html(path: Path, text: str) -> Article:
    """A news page: the article's own text, its headline apart, and the page's metadata
    (``index/pages.py``); menus, banners, related links, comments and footers are left out. The
    page's canonical URL, when it gives one, is the article's link."""
    from newsdesk.index.pages import NoArticleText, extract_page

    try:
        page = extract_page(text)
    except NoArticleText as error:
        raise UnreadableFile(str(error)) from None
    return Article(
        id=article_id_for(path),
        title=page.title or page.text.splitlines()[0][:200],
        text=page.text,
        url=page.url or file_url(path),
        published=page.published,
        source=page.source,
        author=page.author,
    )


def load_jsonl(path: Path, lines: Iterable[str | UnreadableFile], result: LoadResult) -> None:
    """JSON lines, one article per line: ``text`` required; bad lines are reported, others kept."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, UnreadableFile):
            result.problems.append(Problem(str(path), str(line), number))
            continue
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
        published = record.get("published")
        try:
            if not isinstance(published, str | None):
                raise ValueError(f"{published!r} is not a date: give YYYY-MM-DD as a string")
            published = normalise_published(published or "")
        except ValueError as error:
            result.problems.append(Problem(str(path), f"field 'published': {error}", number))
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
                url=url or f"{file_url(path)}#{number}",
                published=published,
                source=field_of("source"),
                author=field_of("author"),
                origin=str(canonical(path)),
                line=number,
            )
        )


def load_file(path: Path, result: LoadResult) -> None:
    """Load one file into ``result``; anything wrong with it (or a line of it) becomes a Problem."""
    try:
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnreadableFile(f"unsupported file type '{suffix or path.name}'")
        raw = read_regular_file(path)
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
        result.problems.append(Problem(str(path), str(error), error.line))
        return
    except OSError as error:
        result.problems.append(Problem(str(path), f"cannot read file ({error.strerror or error})"))
        return
    result.articles.append(replace(article, origin=str(canonical(path))))


FOLDER_DEFAULTS = "newsdesk.toml"
"""A file in a folder giving defaults for the articles in it and below (the nearest one wins)."""
FOLDER_DEFAULT_FIELDS = ("source", "author")


@dataclass
class FolderDefaults:
    """Defaults for articles that do not say themselves, read from ``newsdesk.toml`` files, once each.

    ``source = "The Coastal Herald"`` in ``articles/herald/newsdesk.toml`` gives every article under
    ``articles/herald/`` without an outlet of its own (no ``source`` in its front matter, JSONL line or
    page metadata) that outlet; ``author`` likewise. An article's own value always wins.
    """

    result: LoadResult
    _folders: dict[Path, dict[str, str]] = field(default_factory=dict)

    def for_folder(self, folder: Path) -> dict[str, str]:
        folder = canonical(folder)
        if folder not in self._folders:
            parent = folder.parent
            inherited = self.for_folder(parent) if parent != folder else {}
            self._folders[folder] = {**inherited, **self._read(folder / FOLDER_DEFAULTS)}
        return self._folders[folder]

    def _read(self, path: Path) -> dict[str, str]:
        """The defaults one file gives; a broken file or an unknown key is reported, not fatal."""
        import tomllib

        try:
            if not path.is_file():
                return {}
            data = tomllib.loads(decode_bytes(read_regular_file(path)))
        except (OSError, UnreadableFile) as error:
            self.result.problems.append(Problem(str(path), f"cannot read folder defaults ({error})"))
            return {}
        except tomllib.TOMLDecodeError as error:
            self.result.problems.append(Problem(str(path), f"broken TOML ({error})"))
            return {}
        defaults: dict[str, str] = {}
        for key, value in data.items():
            if key not in FOLDER_DEFAULT_FIELDS or not isinstance(value, str):
                known = " and ".join(repr(k) for k in FOLDER_DEFAULT_FIELDS)
                reason = f"{key!r} is not a folder default (give {known} as text); ignored"
                self.result.problems.append(Problem(str(path), reason))
                continue
            defaults[key] = " ".join(value.split())
        return defaults

    def apply(self, article: Article, folder: Path) -> Article:
        defaults = self.for_folder(folder)
        return replace(
            article,
            source=article.source or defaults.get("source", ""),
            author=article.author or defaults.get("author", ""),
        )


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Load every supported file under ``paths``; whatever cannot be read is reported, never raised.

    Articles with no outlet (or author) of their own take their folder's default (``FolderDefaults``).
    """
    result = LoadResult()
    defaults = FolderDefaults(result)
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            result.problems.append(Problem(str(path), _os_reason(path, error)))
            continue
        for file in iter_files(path, result) if stat.S_ISDIR(mode) else [path]:
            start = len(result.articles)
            load_file(file, result)
            folder = canonical(file).parent
            result.articles[start:] = [defaults.apply(a, folder) for a in result.articles[start:]]
    return result
