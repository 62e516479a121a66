"""A visitor's whole visit, in a real headless Chromium against a real ``newsdesk serve`` with logins:
ask, check a source, read the whole article, add an article as an admin and ask about it, give
feedback and find it in ``newsdesk feedback export``; add a feed by URL (served on 127.0.0.1) and narrow
answers by outlet and date in the filters panel; watch an upload's progress. Saves screenshots of chat
and sources at desktop and phone widths, light and dark, and of the Articles tab (``make screenshots``
writes them to docs/screenshots/ for the README).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsdesk.rag.answer.answerer import ABSTAIN_MESSAGE
from tests.conftest import SEED_ARTICLE
from tests.index.news_server import NewsServer, page, rss
from tests.support import run_newsdesk
from tests.ui.test_app import start_server
from tests.ui.test_browser import ANSWER_TIMEOUT_MS, BOT_MESSAGE, ChatPage, browser, flat, require_chromium

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the shared browser fixture

ADMIN, READER = ("ann", "adm1n-pass"), ("bob", "r3ader-pass")
QUESTION = "Who is visiting Beijing for security talks?"
UPLOADED = (
    "Lighthouse keepers return\n"
    "The Korvel lighthouse keepers returned to the island of Brannoch on Monday after a winter ashore.\n"
)
SCREEN_SIZES = {"desktop": (1280, 860), "phone": (390, 844)}
PROGRESS_ARTICLES = 48
BATCH_ARTICLES = 8
"""Articles indexed together on the journey's server: an upload of 48 reports its progress 6 times."""


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    """A news site on 127.0.0.1: a feed of two real-looking pages from two outlets."""
    with NewsServer() as running:
        running.serve("/strike", page("harbour-strike"))  # The Coastal Herald, 2024-03-14
        running.serve("/cup", page("cup-final"))  # Sports Daily, 2024-05-18
        items = [{"title": t, "link": running.url(p)} for t, p in (("Strike", "/strike"), ("Cup", "/cup"))]
        running.serve("/wire.xml", rss("Wire", items), content_type="application/rss+xml")
        running.serve("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, news: NewsServer) -> Iterator[tuple[str, Path]]:
    require_chromium()
    folder = tmp_path_factory.mktemp("journey")
    users = folder / "users.txt"
    for (user, password), extra in ((ADMIN, ["--admin"]), (READER, [])):
        assert run_newsdesk("passwd", str(users), user, *extra, input=password + "\n").returncode == 0
    env = {
        "NEWSDESK_AUTH_FILE": str(users),
        "NEWSDESK_INDEX_BATCH_ARTICLES": str(BATCH_ARTICLES),
        "NEWSDESK_FETCH_ALLOW": "127.0.0.1",
        "NEWSDESK_FETCH_HOST_INTERVAL": "0",
    }
    process, url = start_server(folder / "index", env)
    yield url, folder / "index"
    process.terminate()
    process.wait(timeout=30)


def logged_in(browser: Any, url: str, login: tuple[str, str], **context: Any) -> ChatPage:
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    page.goto(f"{url}/", wait_until="load")
    page.locator("input[type=text]").first.fill(login[0])
    page.locator("input[type=password]").fill(login[1])
    page.get_by_role("button", name="Login").click()
    page.locator("#newsdesk-question textarea").wait_for(state="visible")
    return ChatPage(page, url)  # the chat again, as a fresh visit with the login's cookie


def test_a_visit_from_question_to_feedback(server: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    url, index = server
    chat = logged_in(browser, url, ADMIN, viewport={"width": 1280, "height": 900})
    page = chat.page
    seed = flat(SEED_ARTICLE.read_text(encoding="utf-8"))

    answer = chat.ask(QUESTION)
    page.locator("#newsdesk-panel .nd-source").first.wait_for(state="visible")
    assert "Sources" not in answer.inner_text() and answer.locator("blockquote").count() == 0  # the panel's
    answer.locator("strong", has_text="[1]").first.click()

    card = page.locator("#nd-source-1")
    page.wait_for_function("document.querySelector('#nd-source-1').classList.contains('nd-active')")
    quote = flat(card.locator("mark.nd-quote").first.inner_text())
    assert "Shoigu" in quote and quote in seed
    card.locator(".nd-whole summary").click()
    assert flat(card.locator(".nd-article").inner_text()) == seed

    page.get_by_role("tab", name="Articles").click()
    upload = tmp_path / "korvel keepers.txt"
    upload.write_text(UPLOADED, encoding="utf-8")
    page.locator("#newsdesk-upload input[type=file]").set_input_files(str(upload))
    page.locator("#newsdesk-upload-button").click()
    status = page.locator("#newsdesk-upload-status")
    page.wait_for_function(
        "document.querySelector('#newsdesk-upload-status').innerText.includes('added 1')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert "added 1" in status.inner_text()
    page.wait_for_function(
        "document.querySelector('#newsdesk-article-list').innerText.includes('Lighthouse keepers return')"
    )

    page.get_by_role("tab", name="Chat").click()
    uploaded_answer = chat.ask("Where did the Korvel lighthouse keepers return?")
    assert "Brannoch" in flat(uploaded_answer.inner_text())

    page.locator("#newsdesk-comment textarea").fill("Say when they left, too.")
    page.locator(BOT_MESSAGE).last.hover()
    page.get_by_role("button", name="Dislike").last.click()
    page.wait_for_function(
        "document.querySelector('#newsdesk-feedback-status').innerText.includes('Thank you')"
    )

    exported = run_newsdesk("feedback", "export", "--db", str(index))
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    (record,) = [r for r in records if r["comment"] == "Say when they left, too."]
    assert record["verdict"] == "down" and record["user"] == "ann"
    assert record["question"] == "Where did the Korvel lighthouse keepers return?"
    assert "Brannoch" in record["answer"] and "Brannoch" in record["citations"][0]["quote"]


def test_a_reader_sees_no_upload_or_delete(server: tuple[str, Path], browser: Any) -> None:
    url, _ = server
    chat = logged_in(browser, url, READER)
    chat.page.get_by_role("tab", name="Articles").click()
    chat.page.wait_for_function(
        "document.querySelector('#newsdesk-article-list').innerText.includes('Chinese-Russian')"
    )
    assert (
        chat.page.locator("#newsdesk-upload-button").count() == 0
        or not chat.page.locator("#newsdesk-upload-button").is_visible()
    )
    assert not chat.page.locator("#newsdesk-delete-button").is_visible()


def add_feed(chat: ChatPage, url: str, done: str) -> str:
    """Add ``url`` in the Articles tab's "Add a feed or URL" box; the status once it says ``done``."""
    page = chat.page
    page.get_by_role("tab", name="Articles").click()
    page.locator("#newsdesk-add-url textarea, #newsdesk-add-url input").first.fill(url)
    page.locator("#newsdesk-add-url-button").click()
    page.wait_for_function(
        "([done]) => document.querySelector('#newsdesk-add-url-status').innerText.includes(done)",
        arg=[done],
        timeout=ANSWER_TIMEOUT_MS,
    )
    return flat(page.locator("#newsdesk-add-url-status").inner_text())


def choose_outlet(chat: ChatPage, outlet: str) -> None:
    chat.page.locator("#newsdesk-sources input").click()
    chat.page.get_by_role("option", name=outlet, exact=True).click()
    chat.page.locator("#newsdesk-sources").get_by_text(outlet, exact=True).first.wait_for(state="visible")


def test_an_admin_adds_a_feed_and_the_filters_narrow_answers_to_its_outlets_and_dates(
    server: tuple[str, Path], browser: Any, news: NewsServer
) -> None:
    url, _ = server
    chat = logged_in(browser, url, ADMIN, viewport={"width": 1280, "height": 900})
    page = chat.page
    feed = news.url("/wire.xml")

    refused = add_feed(chat, news.url("/to-file"), "Nothing was added")
    assert "redirect to file:///etc/passwd refused: only http and https URLs are fetched" in refused
    added = add_feed(chat, feed, "Feed indexed and added to the watched feeds")
    assert "2 new or changed of 2 entries: added 2" in added, added
    feeds = flat(page.locator("#newsdesk-feeds").inner_text())
    assert feed in feeds and "added here" in feeds and news.url("/to-file") not in feeds

    page.get_by_role("tab", name="Chat").click()
    page.locator("#newsdesk-filters").get_by_text("Filters and settings").click()
    choose_outlet(chat, "Sports Daily")  # offered once indexed: the panel reads the outlets when opened
    question = "Who is the chief executive of the port in Saltmere?"
    assert flat(chat.ask(question).inner_text()) == ABSTAIN_MESSAGE  # the strike is The Coastal Herald's
    choose_outlet(chat, "The Coastal Herald")
    assert "Marion Hale" in flat(chat.ask(question).inner_text())
    page.locator("#newsdesk-since textarea, #newsdesk-since input").first.fill("2024-04-01")
    assert flat(chat.ask(question).inner_text()) == ABSTAIN_MESSAGE  # published 2024-03-14
    assert not page.locator("#newsdesk-mode").is_visible()  # no language model on this server


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SCREEN_SIZES))
def test_screenshots_of_chat_and_sources(
    server: tuple[str, Path], browser: Any, tmp_path: Path, size: str, scheme: str
) -> None:
    url, _ = server
    width, height = SCREEN_SIZES[size]
    chat = logged_in(browser, url, READER, viewport={"width": width, "height": height}, color_scheme=scheme)
    page = chat.page
    if scheme == "dark":
        page.goto(f"{url}/?__theme=dark", wait_until="load")
        page.locator("#newsdesk-question textarea").wait_for(state="visible")
    answer = chat.ask(QUESTION)
    page.locator("#newsdesk-panel .nd-source").first.wait_for(state="visible")
    answer.locator("strong", has_text="[1]").first.click()
    page.wait_for_timeout(600)
    dark = page.evaluate(
        "document.body.classList.contains('dark') || document.documentElement.classList.contains('dark')"
    )
    assert dark == (scheme == "dark")

    folder = Path(os.environ.get("NEWSDESK_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"chat-{size}-{scheme}.png"
    if size == "phone":
        page.locator("#newsdesk-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(target))
    shrink(target)
    assert target.stat().st_size > 10_000


def test_screenshots_of_the_articles_tab_with_the_watched_feeds(
    server: tuple[str, Path], browser: Any, tmp_path: Path, news: NewsServer
) -> None:
    url, _ = server
    chat = logged_in(browser, url, ADMIN, viewport={"width": 1280, "height": 900})
    added = add_feed(chat, news.url("/wire.xml"), "Feed indexed")  # or "already watched", run after the above
    assert "entries" in added
    assert news.url("/wire.xml") in chat.page.locator("#newsdesk-feeds").inner_text()

    folder = Path(os.environ.get("NEWSDESK_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "articles-desktop-light.png"
    chat.page.screenshot(path=str(target), full_page=True)
    shrink(target)
    assert target.stat().st_size > 10_000


def shrink(png: Path) -> None:
    """A screenshot in 256 colours: a README image a tenth of the size, still sharp."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def test_an_upload_shows_its_progress_as_articles_are_indexed(
    server: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    """Last in this module: its many articles would push the seed off the list's first page."""
    url, _ = server
    chat = logged_in(browser, url, ADMIN, viewport={"width": 1280, "height": 900})
    page = chat.page
    words = random.Random(7)
    vocabulary = [
        f"{a}{b}" for a in ("kel", "mor", "tav", "quin", "bral", "sof") for b in ("ad", "ek", "im", "ost")
    ]
    lines = [
        json.dumps({"title": f"Harbour note {n}", "text": " ".join(words.choices(vocabulary, k=60)) + "."})
        for n in range(PROGRESS_ARTICLES)
    ]
    upload = tmp_path / "harbour notes.jsonl"
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.locator("#newsdesk-upload input[type=file]").set_input_files(str(upload))
    page.locator("#newsdesk-upload-button").click()

    progress = page.locator(
        f"[aria-valuetext^='Indexing:'][aria-valuetext$=' / {PROGRESS_ARTICLES} articles']"
    ).first
    progress.wait_for(state="attached", timeout=ANSWER_TIMEOUT_MS)
    shown = progress.get_attribute("aria-valuetext") or ""
    assert re.fullmatch(rf"Indexing: \d+ / {PROGRESS_ARTICLES} articles", shown), shown
    page.wait_for_function(
        "document.querySelector('#newsdesk-upload-status').innerText.includes('added')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert f"added {PROGRESS_ARTICLES}," in page.locator("#newsdesk-upload-status").inner_text()
