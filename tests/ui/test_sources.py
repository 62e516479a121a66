"""The sources panel's HTML: the quote inside its passage, the short answer inside the quote, the
whole article, and article text that stays text."""

from __future__ import annotations

from html.parser import HTMLParser

from newsdesk.rag.types import AnswerSpan, Citation
from newsdesk.ui.library import ArticleText, rebuild_text
from newsdesk.ui.sources import EMPTY_PANEL, context_bounds, panel_html

BODY = (
    "Talks in Beijing\n\nChina is hosting Sergei Shoigu for talks. "
    + "Filler words go on here. " * 30
    + "The end."
)
QUOTE = "China is hosting Sergei Shoigu for talks."
START = BODY.index(QUOTE)
SHOIGU = BODY.index("Sergei Shoigu")


def article(
    text: str = BODY, url: str = "file:///srv/news/talks.txt", title: str = "Talks in Beijing"
) -> ArticleText:
    return ArticleText("talks", title, url, "Wire", "2024-05-01", text, 3)


def citation(**changes: object) -> Citation:
    values: dict[str, object] = {
        "n": 1,
        "article_id": "talks",
        "title": "Talks in Beijing",
        "url": "file:///srv/news/talks.txt",
        "source": "Wire",
        "published": "2024-05-01",
        "quote": QUOTE,
        "start": START,
        "end": START + len(QUOTE),
        "score": 0.5,
        "answer_span": AnswerSpan(SHOIGU, SHOIGU + len("Sergei Shoigu"), "Sergei Shoigu"),
    }
    return Citation(**{**values, **changes})  # type: ignore[arg-type]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each ``mark`` class."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.marks: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(str(dict(attrs).get("class", "")) if tag == "mark" else "")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for name in self._open:
            if name:
                self.marks[name] = self.marks.get(name, "") + data


def test_the_quote_is_marked_inside_its_passage_and_the_short_answer_inside_the_quote() -> None:
    shown = Tags(panel_html([citation()], lambda _: article()).split("<details", 1)[0])
    assert shown.marks["nd-quote"] == QUOTE
    assert shown.marks["nd-answer"] == "Sergei Shoigu"


def test_the_passage_reaches_either_side_of_the_quote_without_cutting_words() -> None:
    left, right = context_bounds(BODY, START, START + len(QUOTE), width=40)
    assert left == 0 and BODY[right] == " " and right > START + len(QUOTE) + 40 - 1
    left, _ = context_bounds(BODY, BODY.index("The end."), len(BODY), width=30)
    assert BODY[left - 1] == " "


def test_a_link_is_shown_only_for_a_real_web_address() -> None:
    on_disk = Tags(panel_html([citation()], lambda _: article()))
    assert not [a for a in on_disk.tags if a[0] == "a"]
    assert "/srv/news" not in panel_html([citation()], lambda _: article())
    web = citation(url="https://news.example.org/talks")
    links = [attrs for tag, attrs in Tags(panel_html([web], lambda _: article())).tags if tag == "a"]
    assert links == [
        {"href": "https://news.example.org/talks", "target": "_blank", "rel": "noopener noreferrer nofollow"}
    ]
    hostile = citation(url='https://x.org/" onmouseover="alert(1)')
    assert not [t for t in Tags(panel_html([hostile], lambda _: article())).tags if t[0] == "a"]


def test_every_piece_of_article_text_is_escaped() -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    text = f"{payload}\n\nChina is hosting Sergei Shoigu for talks. {payload}"
    start = text.index(QUOTE)
    hostile = citation(
        title=payload,
        source=payload,
        published=payload,
        start=start,
        end=start + len(QUOTE),
        answer_span=None,
        also_in=[{"source": payload, "url": "", "published": payload}],
    )
    html = panel_html([hostile], lambda _: article(text, title=payload))
    tags = {tag for tag, _ in Tags(html).tags}
    assert tags <= {"div", "h4", "span", "mark", "details", "summary", "b", "p"}
    assert all(not name.startswith("on") for _, attrs in Tags(html).tags for name in attrs)
    assert html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 5


def test_the_whole_article_shows_its_headline_once_and_the_quote_where_it_stands() -> None:
    html = panel_html([citation()], lambda _: article())
    whole = html.split("<details", 1)[1]
    assert whole.count("Talks in Beijing") == 1
    assert Tags(whole).marks["nd-quote"] == QUOTE and "The end." in whole


def test_without_the_article_the_quote_alone_is_shown() -> None:
    html = panel_html([citation()], lambda _: None)
    assert Tags(html).marks == {"nd-quote": QUOTE, "nd-answer": "Sergei Shoigu"}
    assert "<details" not in html
    assert panel_html([], lambda _: None) == EMPTY_PANEL


def test_an_article_is_rebuilt_from_overlapping_chunks_with_its_offsets_kept() -> None:
    text = "One two.  Three four. Five six."
    pieces = [(0, 8, "One two."), (10, 21, "Three four."), (10, 31, "Three four. Five six.")]
    assert rebuild_text(pieces) == text
    assert rebuild_text(list(reversed(pieces))) == text
