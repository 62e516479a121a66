"""Metadata for every format: front matter in .md/.txt, page metadata in .html, folder defaults, and
an honest count of the articles that date and outlet filters cannot see."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from newsdesk.index.load import load_paths
from newsdesk.wiring import Newsdesk


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_gives_the_metadata_and_is_not_part_of_the_text(tmp_path: Path) -> None:
    write(
        tmp_path / "ferry.md",
        "---\ntitle: Ferry crossings cancelled\nsource: Island Times\npublished: 2024-01-09\n"
        "url: https://islandtimes.example/ferry\nauthor: [Ann Lee, Bo Park]\ntags: [transport]\n---\n"
        "# Ferry crossings cancelled\n\nStorm Henk stopped every crossing on Tuesday.\n",
    )
    [article] = load_paths([tmp_path]).articles
    assert (article.title, article.source, article.published, article.url, article.author) == (
        "Ferry crossings cancelled",
        "Island Times",
        "2024-01-09",
        "https://islandtimes.example/ferry",
        "Ann Lee, Bo Park",
    )
    assert article.text == "# Ferry crossings cancelled\n\nStorm Henk stopped every crossing on Tuesday.\n"


def test_text_front_matter_accepts_outlet_and_a_date_time_keeping_its_day(tmp_path: Path) -> None:
    write(
        tmp_path / "dam.txt",
        "---\noutlet: Valley News\ndate: '2024-03-31T23:30:00-05:00'\n---\nDam opens\nThe dam opened.\n",
    )
    [article] = load_paths([tmp_path]).articles
    assert (article.title, article.source, article.published) == ("Dam opens", "Valley News", "2024-03-31")
    assert article.text == "Dam opens\nThe dam opened.\n"


def test_a_file_without_front_matter_is_read_as_before(tmp_path: Path) -> None:
    text = "Harbour reopens\n---\nThe harbour reopened on Friday.\n"
    write(tmp_path / "a.txt", text)
    [article] = load_paths([tmp_path]).articles
    assert (article.title, article.text, article.source, article.published) == (
        "Harbour reopens",
        text,
        "",
        "",
    )


def test_broken_front_matter_and_bad_dates_are_reported_with_their_line_and_the_rest_is_indexed(
    tmp_path: Path,
) -> None:
    write(tmp_path / "broken.md", "---\ntitle: A\nsource: [unclosed\n---\nBody.\n")
    write(tmp_path / "month.txt", "---\ntitle: B\npublished: 2024-02\n---\nBody.\n")
    write(tmp_path / "impossible.txt", "---\ntitle: C\n\npublished: 2024-02-30\n---\nBody.\n")
    write(tmp_path / "number.md", "---\nsource: 42\n---\nBody.\n")
    write(tmp_path / "good.md", "---\ntitle: D\n---\nThe good one.\n")
    result = load_paths([tmp_path])
    assert [a.title for a in result.articles] == ["D"]
    problems = {Path(p.path).name: (p.line, p.reason) for p in result.problems}
    assert problems["broken.md"][0] == 4 and problems["broken.md"][1].startswith("broken front matter")
    assert problems["month.txt"] == (
        3,
        "front matter field 'published': '2024-02' is not a date: give YYYY-MM-DD (or an ISO date-time)",
    )
    assert problems["impossible.txt"] == (
        4,
        "front matter field 'published': '2024-02-30' is not a date (February 2024 has 29 days)",
    )
    assert problems["number.md"] == (2, "front matter field 'source': 42 is not text")
    assert str(result.problems[0]).startswith(f"{tmp_path / 'broken.md'}:4: broken front matter")


def test_folder_defaults_give_an_outlet_to_articles_without_one_and_the_nearest_file_wins(
    tmp_path: Path,
) -> None:
    write(tmp_path / "newsdesk.toml", 'source = "Coastal Herald"\nauthor = "Staff"\n')
    write(tmp_path / "plain.txt", "Tide\nA high tide flooded the promenade.\n")
    write(tmp_path / "own.md", "---\nsource: Wire Service\n---\nRain\nRain fell.\n")
    write(tmp_path / "sport" / "newsdesk.toml", 'source = "Herald Sport"\n')
    write(tmp_path / "sport" / "match.txt", "Final\nKestrel won 2-1.\n")
    rows = [{"id": "j1", "text": "Jetty rebuilt."}, {"id": "j2", "text": "Pier shut.", "source": "AP"}]
    write(tmp_path / "sport" / "feed.jsonl", "\n".join(json.dumps(r) for r in rows))
    result = load_paths([tmp_path])
    assert result.problems == []
    got = {(a.title or a.id): (a.source, a.author) for a in result.articles}
    assert got == {
        "Tide": ("Coastal Herald", "Staff"),
        "Rain": ("Wire Service", "Staff"),
        "Final": ("Herald Sport", "Staff"),
        "j1": ("Herald Sport", "Staff"),
        "j2": ("AP", "Staff"),
    }
    # A file named on the command line takes its folder's defaults too.
    [match] = load_paths([tmp_path / "sport" / "match.txt"]).articles
    assert match.source == "Herald Sport"


def test_a_broken_or_unknown_folder_default_is_reported_and_the_articles_still_load(tmp_path: Path) -> None:
    write(tmp_path / "a" / "newsdesk.toml", "source = \n")
    write(tmp_path / "a" / "x.txt", "X\nBody x.\n")
    write(tmp_path / "b" / "newsdesk.toml", 'outlet = "Oops"\nsource = "B Times"\n')
    write(tmp_path / "b" / "y.txt", "Y\nBody y.\n")
    result = load_paths([tmp_path])
    assert {a.title: a.source for a in result.articles} == {"X": "", "Y": "B Times"}
    reasons = {Path(p.path).parent.name: p.reason for p in result.problems}
    assert reasons["a"].startswith("broken TOML")
    assert reasons["b"] == "'outlet' is not a folder default (give 'source' and 'author' as text); ignored"


def test_a_news_page_gets_its_metadata_and_the_folder_default_only_where_it_has_none(tmp_path: Path) -> None:
    write(tmp_path / "newsdesk.toml", 'source = "Saved pages"\n')
    write(
        tmp_path / "a.html",
        '<html><head><meta property="og:site_name" content="Harbour Post">'
        '<meta property="article:published_time" content="2024-06-01T10:00:00Z"><title>Quay</title></head>'
        "<body><article><h1>Quay</h1><p>The quay was rebuilt in stone after the winter storms.</p>"
        "</article></body></html>",
    )
    write(tmp_path / "b.html", "<html><body><h1>Lock</h1><p>The canal lock was repaired.</p></body></html>")
    got = {a.title: (a.source, a.published) for a in load_paths([tmp_path]).articles}
    assert got == {"Quay": ("Harbour Post", "2024-06-01"), "Lock": ("Saved pages", "")}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_the_index_summary_counts_articles_without_a_date_or_an_outlet(
    tmp_path: Path, make_desk: Callable[..., Newsdesk]
) -> None:
    docs = tmp_path / "docs"
    write(docs / "dated.md", "---\nsource: Wire\npublished: 2024-01-02\n---\nA\nThe first story.\n")
    write(docs / "undated.md", "---\nsource: Wire\n---\nB\nThe second story is here.\n")
    write(docs / "bare.txt", "C\nThe third story has nothing.\n")
    report = make_desk().indexer.index_paths([docs])
    assert (report.undated, report.no_outlet) == (2, 1)
    assert report.summary().endswith(
        "; 2 without a date, 1 without an outlet (--since/--until and --source cannot see them)"
    )
