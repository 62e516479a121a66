"""Loading: every supported format becomes an article; every broken file is reported by name (and line)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from newsdesk.index.load import LoadResult, UnreadableFile, decode_bytes, load_paths
from tests.conftest import SEED_ARTICLE


def test_text_file_title_is_its_first_non_empty_line() -> None:
    result = load_paths([SEED_ARTICLE])
    assert result.problems == []
    [article] = result.articles
    assert article.title == "Chinese-Russian Security Talks in Beijing"
    assert "Sergei Shoigu" in article.text
    assert article.text == SEED_ARTICLE.read_text(encoding="utf-8")


def test_markdown_title_is_the_first_heading(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "\n# Floods in Valencia\n\nRain fell for *three* days.\n", encoding="utf-8"
    )
    [article] = load_paths([tmp_path]).articles
    assert article.title == "Floods in Valencia"
    assert "Rain fell for *three* days." in article.text


def test_html_keeps_the_article_text_only_and_its_headline_apart(tmp_path: Path) -> None:
    page = """<html><head><title>Port strike ends | The Wire</title><style>p{color:red}</style></head>
    <body><h1>Port strike ends</h1><script>alert('x')</script><p>Dock workers <b>returned</b> on Monday.</p>
    <p>Talks lasted two weeks.</p></body></html>"""
    (tmp_path / "a.html").write_text(page, encoding="utf-8")
    [article] = load_paths([tmp_path]).articles
    assert article.title == "Port strike ends"
    assert article.text == "Dock workers returned on Monday.\nTalks lasted two weeks."
    assert "alert" not in article.text and "color" not in article.text


def test_html_without_title_tag_uses_h1(tmp_path: Path) -> None:
    (tmp_path / "a.htm").write_text("<h1>Election night</h1><p>Polls closed at eight.</p>", encoding="utf-8")
    [article] = load_paths([tmp_path]).articles
    assert article.title == "Election night"
    assert article.text == "Polls closed at eight."


def test_jsonl_reads_every_field_and_reports_broken_lines_by_number(tmp_path: Path) -> None:
    good = {
        "id": "a1",
        "title": "T",
        "text": "Body one.",
        "url": "https://x/1",
        "published": "2023-10-01",
        "source": "Wire",
        "author": "Ann",
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"title": "no text"}),
        "",
        json.dumps({"text": "Body two."}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = load_paths([tmp_path / "feed.jsonl"])
    assert result.articles[0].id == "a1"
    first = result.articles[0]
    assert (first.title, first.url, first.published, first.source, first.author) == (
        "T",
        "https://x/1",
        "2023-10-01",
        "Wire",
        "Ann",
    )
    assert result.articles[1].text == "Body two."
    assert [(p.line, p.reason.split(" (")[0]) for p in result.problems] == [
        (2, "broken JSON"),
        (3, "missing or empty 'text'"),
    ]
    assert all(p.path.endswith("feed.jsonl") for p in result.problems)
    assert "feed.jsonl:2" in str(result.problems[0])


def test_folders_recurse_and_bad_files_are_skipped_with_their_names(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.txt").write_text("Title\nA sentence here.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = load_paths([tmp_path, tmp_path / "missing.txt"])
    assert [a.title for a in result.articles] == ["Title"]
    reasons = {Path(p.path).name: p.reason for p in result.problems}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "unsupported" in reasons["notes.pdf"]
    assert "no such file" in reasons["missing.txt"]


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    text = "Café société\nLe maire a inauguré la médiathèque de Saint-Étienne jeudi matin devant des élèves."
    (tmp_path / "latin1.txt").write_bytes(text.encode("cp1252"))
    [article] = load_paths([tmp_path]).articles
    assert article.text == text


def test_content_hash_changes_with_text_and_metadata_only() -> None:
    [article] = load_paths([SEED_ARTICLE]).articles
    same = type(article)(**{**article.__dict__})
    assert same.content_hash == article.content_hash
    assert (
        type(article)(**{**article.__dict__, "text": article.text + " More."}).content_hash
        != article.content_hash
    )
    assert type(article)(**{**article.__dict__, "source": "AP"}).content_hash != article.content_hash


# ---- input edges: links, pipes, bytes that are not text, dates that are not dates ----


def good_file(folder: Path, name: str = "good.txt") -> Path:
    path = folder / name
    path.write_text("Harbour\nThe harbour reopened on Friday after the storm.", encoding="utf-8")
    return path


def reasons_of(result: LoadResult) -> dict[str, str]:
    return {str(p).rsplit(": ", 1)[0]: p.reason for p in result.problems}


@pytest.mark.timeout(30)  # a FIFO that is opened blocks forever: the timeout fails the test
def test_links_pipes_and_loops_are_reported_by_name_on_the_command_line_and_in_folders(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    good = good_file(docs / "sub")
    (docs / "loop.txt").symlink_to(docs / "loop.txt")
    os.mkfifo(docs / "pipe.txt")
    (docs / "dangling.md").symlink_to(tmp_path / "gone.md")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    good_file(elsewhere, "other.txt")
    (docs / "linked").symlink_to(elsewhere)
    (docs / "link.txt").symlink_to(good)
    cli_loop, cli_pipe = tmp_path / "x.txt", tmp_path / "y.txt"
    cli_loop.symlink_to(cli_loop)
    os.mkfifo(cli_pipe)

    result = load_paths([cli_loop, docs, cli_pipe])

    assert reasons_of(result) == {
        str(cli_loop): "symbolic link loop",
        str(docs / "dangling.md"): "broken symbolic link",
        str(docs / "linked"): "symbolic link to a folder, not followed (pass the folder itself)",
        str(docs / "loop.txt"): "symbolic link loop",
        str(docs / "pipe.txt"): "not a regular file (a FIFO)",
        str(cli_pipe): "not a regular file (a FIFO)",
    }
    # The good file is read twice (itself and through a link): both name the one canonical file.
    assert [a.title for a in result.articles] == ["Harbour", "Harbour"]
    assert {a.origin for a in result.articles} == {str(good.resolve())}


@pytest.mark.timeout(30)  # /dev/zero never ends: reading it would not return
def test_a_device_named_like_an_article_is_refused_without_being_read(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    result = load_paths([tmp_path / "zero.txt"])
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'zero.txt'}: not a regular file (a character device)"
    ]


def test_random_bytes_are_refused_not_indexed_as_mojibake(tmp_path: Path) -> None:
    noise = tmp_path / "noise.txt"
    noise.write_bytes(b'\xf5\xb1e"JX\xb7\x91\xdfj\xf1\xd80>a\xcd\x86\xc3')  # was read as Polish mojibake
    result = load_paths([noise])
    assert result.articles == []
    [problem] = result.problems
    assert problem.reason == "not text (garbled in every encoding tried)"
    refused = 0
    for seed in range(1000):
        try:
            decode_bytes(random.Random(seed).randbytes(18))
        except UnreadableFile:
            refused += 1
    assert refused >= 990, f"only {refused} of 1000 random 18-byte strings refused"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Caf\u00e9", "cp1252"),
        (
            "Prices rose 5% to \u00a312.50 (\u20ac14) \u2014 \u201ca record\u201d, said the CEO\u2026",
            "cp1252",
        ),
        ("He won 3\u00bd points \u00b1 0.5\u00b0.", "cp1252"),
        ("\u00c6r\u00f8sk\u00f8bing f\u00e6rge sejler igen", "cp1252"),
        ("Hi there", "utf-16"),
        ("Caf\u00e9 reopens on Monday.", "utf-16"),
        ("Президент России встретился с министром обороны.", "cp1251"),
        ("Η κυβέρνηση ανακοίνωσε νέα μέτρα.", "cp1253"),
        ("東京で新しい美術館が金曜日に開館しました。", "shift_jis"),
        ("Stocks rose 5% \U0001f4c8 today.", "utf-8"),
    ],
)
def test_real_short_texts_in_other_encodings_are_read_exactly(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == text


def test_published_dates_are_checked_and_date_times_keep_their_day(tmp_path: Path) -> None:
    rows = [
        {"id": "ok", "text": "The ferry resumed.", "published": "2023-10-05"},
        {"id": "impossible", "text": "The bridge closed.", "published": "2023-13-45"},
        {"id": "stamp", "text": "The dam opened.", "published": "2023-10-05T23:30:00-05:00"},
        {"id": "month", "text": "The port closed.", "published": "2023-10"},
        {"id": "number", "text": "The pier fell.", "published": 20231005},
        {"id": "none", "text": "The lock broke.", "published": None},
        {"id": "sep", "text": "A line\u2028with a line separator inside.", "published": "2023-02-28"},
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = load_paths([feed])
    assert [(a.id, a.published, a.line) for a in result.articles] == [
        ("ok", "2023-10-05", 1),
        ("stamp", "2023-10-05", 3),
        ("none", "", 6),
        ("sep", "2023-02-28", 7),
    ]
    assert [str(p) for p in result.problems] == [
        f"{feed}:2: field 'published': '2023-13-45' is not a date (there is no month 13)",
        f"{feed}:4: field 'published': '2023-10' is not a date: give YYYY-MM-DD (or an ISO date-time)",
        f"{feed}:5: field 'published': 20231005 is not a date: give YYYY-MM-DD as a string",
    ]


MIXED_LINES = [
    ("The café in Zürich, said Müller.", "utf-8"),
    ("Le garçon apporta un café crème à la terrasse.", "cp1252"),
    ("Müller said the café in Zürich would reopen on Monday after the renovation.", "utf-8"),
]


def test_a_file_of_utf8_and_windows_1252_lines_is_decoded_line_by_line(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"\n".join(line.encode(encoding) for line, encoding in MIXED_LINES) + b"\n")
    result = load_paths([mixed])
    assert result.problems == []
    [article] = result.articles
    assert article.text == "\n".join(line for line, _ in MIXED_LINES) + "\n"
    assert "Ã" not in article.text and article.title == "The café in Zürich, said Müller."


def test_a_mixed_file_whose_other_lines_are_no_text_is_reported_not_indexed(tmp_path: Path) -> None:
    noise = random.Random(3).randbytes(40).replace(b"\n", b" ")
    mixed = tmp_path / "mixed-noise.txt"
    mixed.write_bytes("The café in Zürich, said Müller.\n".encode() + noise + b"\n")
    result = load_paths([mixed])
    assert result.articles == []
    [problem] = result.problems
    assert problem.reason.startswith("not text"), problem
