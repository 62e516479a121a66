"""Loading: every supported format becomes an article; every broken file is reported by name (and line)."""

from __future__ import annotations

import json
from pathlib import Path

from newsdesk.index.load import load_paths
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


def test_html_keeps_visible_text_only_and_takes_title_from_title_tag(tmp_path: Path) -> None:
    page = """<html><head><title>Port strike ends</title><style>p{color:red}</style></head>
    <body><h1>Headline</h1><script>alert('x')</script><p>Dock workers <b>returned</b> on Monday.</p>
    <p>Talks lasted two weeks.</p></body></html>"""
    (tmp_path / "a.html").write_text(page, encoding="utf-8")
    [article] = load_paths([tmp_path]).articles
    assert article.title == "Port strike ends"
    assert "Dock workers returned on Monday." in article.text
    assert "Talks lasted two weeks." in article.text
    assert "alert" not in article.text and "color" not in article.text


def test_html_without_title_tag_uses_h1(tmp_path: Path) -> None:
    (tmp_path / "a.htm").write_text("<h1>Election night</h1><p>Polls closed at eight.</p>", encoding="utf-8")
    [article] = load_paths([tmp_path]).articles
    assert article.title == "Election night"


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
