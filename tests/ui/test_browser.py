"""The chat page in a real headless Chromium, against a real ``newsdesk serve`` process.

Needs Debian's browser (``apt-get install chromium chromium-driver``); Playwright's own browser
download is never used. Without ``/usr/bin/chromium`` these tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEED_ARTICLE, SEEDS
from tests.support import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 120
ANSWER_TIMEOUT_MS = 60_000

CHAT = "#newsdesk-chat"
PANEL = "#newsdesk-panel"
BOT_MESSAGE = f"{CHAT} [data-testid='bot']"
ERROR_TOAST = "[data-testid='toast-body']"

SCRIPT_PAYLOAD = "<script>window.__pwned=1</script>"
IMG_PAYLOAD = '<img src=x onerror="window.__pwned=1">'
MARKDOWN_IMAGE_PAYLOAD = "![x](http://203.0.113.9/x.png)"
TEMPLATE_PAYLOAD = "${window.__pwned=1} {{constructor.constructor('window.__pwned=1')()}}"
HOSTILE_QUESTION = "How did the Zorblat festival in Qantaris open?"
HOSTILE_ARTICLE = f"""Zorblat Festival Opens in Qantaris
The Zorblat festival in Qantaris opened on Friday with lantern parades {SCRIPT_PAYLOAD}, a fireworks show \
{IMG_PAYLOAD} and a poster {MARKDOWN_IMAGE_PAYLOAD} of a golden lantern {TEMPLATE_PAYLOAD}.
Thousands of visitors walked along the river until midnight.
"""


def require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} not found; install Debian's browser: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def flat(text: str) -> str:
    return " ".join(text.split())


class Server:
    def __init__(self, base_url: str, log: Path) -> None:
        self.base_url = base_url
        self.log = log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``newsdesk serve`` over an index of the seeds plus one hostile article, on a free port."""
    require_chromium()
    work = tmp_path_factory.mktemp("newsdesk-browser")
    db = work / "index"
    hostile = work / "zorblat-festival.txt"
    hostile.write_text(HOSTILE_ARTICLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}

    indexed = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "index", str(SEEDS), str(hostile), "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SERVER_START_TIMEOUT_S,
    )
    assert indexed.returncode == 0, f"newsdesk index failed:\n{indexed.stdout}\n{indexed.stderr}"

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "newsdesk.cli", "serve", "--db", str(db), "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"newsdesk serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                health = get_json(f"{base_url}/healthz", timeout=2)
                if health.get("status") == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"newsdesk serve unhealthy after {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.5)
        yield Server(base_url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class ChatPage:
    """One fresh browser tab on the chat, recording every request the page makes."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(ANSWER_TIMEOUT_MS)  # a shared, busy machine loads the page slowly
        # Not "networkidle": the page keeps a heartbeat open (Gradio's, for the per-visitor state).
        page.goto(f"{base_url}/", wait_until="load")
        page.locator("#newsdesk-question textarea").wait_for(state="visible")

    def ask(self, question: str) -> Any:
        """Type the question, click Ask, and return the newest answer in the chat once it is shown."""
        box = self.page.locator("#newsdesk-question textarea")
        box.fill(question)
        before = self.page.locator(BOT_MESSAGE).count()
        self.page.locator("#newsdesk-ask").click()
        answer = self.page.locator(BOT_MESSAGE).nth(before)
        answer.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
        self.page.wait_for_function(
            "([sel, n]) => { const m = document.querySelectorAll(sel)[n];"
            " return m && m.innerText.trim().length > 0; }",
            arg=[BOT_MESSAGE, before],
            timeout=ANSWER_TIMEOUT_MS,
        )
        return answer

    def foreign_hosts(self) -> set[str]:
        hosts = {urllib.parse.urlsplit(url).hostname or url for url in self.requests}
        return {host for host in hosts if host != "127.0.0.1"}


@pytest.fixture
def chat(server: Server, browser: Any) -> Iterator[ChatPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        yield ChatPage(context.new_page(), server.base_url)
    finally:
        context.close()


def test_typed_question_gets_a_cited_answer_with_its_sources(chat: ChatPage) -> None:
    question = "Who is visiting Beijing for security talks?"

    answer = chat.ask(question)

    text = flat(answer.inner_text())
    assert "Shoigu" in text
    assert "[1]" in text
    assert "Sources" not in text and answer.locator("blockquote").count() == 0  # the panel shows them
    panel = sources_shown(chat, "Shoigu")
    quotes = [flat(q) for q in panel.locator(".nd-passage mark.nd-quote").all_inner_texts()]
    assert quotes, f"no quote in the sources panel: {panel.inner_text()!r}"
    seed_text = flat(SEED_ARTICLE.read_text(encoding="utf-8"))
    for quote in quotes:
        assert quote in seed_text, f"quote is not verbatim from the article: {quote!r}"
        assert quote in text, f"quote is not the cited answer sentence: {quote!r}"
    assert any("Shoigu" in quote for quote in quotes)
    assert question in flat(chat.page.locator(CHAT).inner_text())
    chat.page.screenshot(path="/tmp/newsdesk-ui.png", full_page=True)


def test_article_text_is_shown_as_text_and_never_runs(chat: ChatPage) -> None:
    answer = chat.ask(HOSTILE_QUESTION)
    chat.page.wait_for_timeout(1000)  # give an injected handler or image every chance to fire

    text = flat(answer.inner_text())
    assert "Zorblat" in text, f"fixture no longer answers: {text}"
    for payload in (SCRIPT_PAYLOAD, IMG_PAYLOAD, MARKDOWN_IMAGE_PAYLOAD):
        assert payload in text, f"{payload!r} should be shown literally in the answer: {text}"
    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    assert answer.locator("script, img").count() == 0
    injected = chat.page.locator(f"{CHAT} script, {CHAT} img[src='x'], {CHAT} img[src*='203.0.113.9']")
    assert injected.count() == 0
    assert chat.page.locator(f"{CHAT} [onerror]").count() == 0
    assert chat.foreign_hosts() == set(), f"page reached outside 127.0.0.1: {chat.requests}"


def test_empty_question_gets_a_polite_reply_and_no_error(chat: ChatPage) -> None:
    answer = chat.ask("")

    assert flat(answer.inner_text()).startswith("Please type a question")
    assert chat.page.locator(ERROR_TOAST).count() == 0
    assert re.search(r"\berror\b", chat.page.locator(CHAT).inner_text(), re.IGNORECASE) is None


def test_apostrophes_in_article_text_are_shown_as_apostrophes(chat: ChatPage) -> None:
    answer = chat.ask("Where will Russia's Su-57 fighter be shown?")

    text = flat(answer.inner_text())
    assert "Su-57" in text
    assert "Russia's advanced stealth fighter" in text, text
    assert "&#x27;" not in flat(chat.page.locator(CHAT).inner_text())


@pytest.fixture(scope="module")
def locked_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same index served again behind a login (an auth file written by `newsdesk passwd`)."""
    import shutil

    from bench.login_flood import Served, make_auth_file

    work = tmp_path_factory.mktemp("newsdesk-browser-login")
    shutil.copytree(server.log.parent / "index", work / "index")
    make_auth_file(work / "users.txt")
    served = Served(work / "index", work / "users.txt", work / "serve.log")
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


def test_the_login_page_loads_logs_in_and_the_chat_answers_behind_it(
    locked_server: Any, browser: Any
) -> None:
    from bench.login_flood import PASSWORD, USER

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        page.goto(f"{locked_server.url}/", wait_until="networkidle")
        password = page.locator("input[type=password]")
        password.wait_for(state="visible", timeout=30_000)
        page.locator("input:not([type=password]), textarea").first.fill(USER)
        password.fill("wrong password")
        page.get_by_role("button", name=re.compile("login", re.I)).click()
        page.get_by_text(re.compile("incorrect", re.I)).first.wait_for(state="visible", timeout=30_000)
        page.locator("input:not([type=password]), textarea").first.fill(USER)
        password.fill(PASSWORD)
        page.get_by_role("button", name=re.compile("login", re.I)).click()
        page.locator("#newsdesk-question textarea").wait_for(state="visible", timeout=60_000)
        chat = ChatPage.__new__(ChatPage)
        chat.page, chat.requests = page, []
        answer = chat.ask("Who is visiting Beijing for security talks?")
        assert "Shoigu" in answer.inner_text()
        assert failed == [], failed
        assert page.locator(ERROR_TOAST).count() == 0
    finally:
        context.close()


def sources_shown(chat: ChatPage, word: str) -> Any:
    """The sources panel once it shows a source whose text holds ``word``."""
    panel = chat.page.locator(PANEL)
    panel.locator(".nd-source", has_text=word).first.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    return panel


def test_a_marker_brings_its_source_into_view_with_the_quote_highlighted(chat: ChatPage) -> None:
    answer = chat.ask("Who is visiting Beijing for security talks?")
    panel = sources_shown(chat, "Shoigu")
    seed_text = flat(SEED_ARTICLE.read_text(encoding="utf-8"))

    answer.locator("strong", has_text="[1]").first.click()

    card = panel.locator("#nd-source-1")
    chat.page.wait_for_function("document.querySelector('#nd-source-1').classList.contains('nd-active')")
    assert card.is_visible()
    quote = flat(card.locator(".nd-passage mark.nd-quote").inner_text())
    assert "Shoigu" in quote and quote in seed_text
    passage = flat(card.locator(".nd-passage").inner_text())
    assert len(passage) > len(quote) and quote in passage  # the quote inside its surrounding passage
    short = flat(card.locator(".nd-passage mark.nd-quote mark.nd-answer").inner_text())
    assert "Shoigu" in short and short in quote
    assert "china-russia" not in flat(card.inner_text()) and card.locator("a").count() == 0  # no file link

    card.locator(".nd-whole summary").click()

    whole = card.locator(".nd-article")
    whole.wait_for(state="visible")
    assert flat(whole.inner_text()) == seed_text  # the whole article, its headline once
    assert flat(whole.locator("mark.nd-quote").inner_text()) == quote


def test_sources_panel_and_whole_article_show_article_text_as_text(chat: ChatPage) -> None:
    chat.ask(HOSTILE_QUESTION)
    panel = sources_shown(chat, "Zorblat")
    card = panel.locator(".nd-source", has_text="Zorblat").first
    card.locator(".nd-whole summary").click()
    card.locator(".nd-article").wait_for(state="visible")
    chat.page.wait_for_timeout(1000)  # give an injected handler or image every chance to fire

    passage = flat(card.locator(".nd-passage").inner_text())
    whole = flat(card.locator(".nd-article").inner_text())
    for payload in (SCRIPT_PAYLOAD, IMG_PAYLOAD, MARKDOWN_IMAGE_PAYLOAD, TEMPLATE_PAYLOAD):
        assert payload in passage, f"{payload!r} should be shown literally in the passage: {passage!r}"
        assert payload in whole, f"{payload!r} should be shown literally in the whole article: {whole!r}"
    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    assert panel.locator("script, img, iframe, [onerror], [onload]").count() == 0
    assert chat.foreign_hosts() == set(), f"page reached outside 127.0.0.1: {chat.requests}"


def test_at_phone_width_the_sources_come_below_the_chat_and_the_box_stays_in_view(
    server: Server, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        chat = ChatPage(context.new_page(), server.base_url)
        chat.ask("Who is visiting Beijing for security talks?")
        panel = sources_shown(chat, "Shoigu")
        chat_box = chat.page.locator(CHAT).bounding_box()
        panel_box = panel.bounding_box()
        question_box = chat.page.locator("#newsdesk-question textarea").bounding_box()
        assert chat_box and panel_box and question_box
        assert panel_box["y"] >= chat_box["y"] + chat_box["height"]  # below, not beside
        assert panel_box["width"] > 300
        assert question_box["y"] + question_box["height"] <= 844  # the box is still on the first screen
    finally:
        context.close()


def test_example_questions_come_from_the_indexed_headlines(chat: ChatPage) -> None:
    examples = chat.page.locator("#newsdesk-examples")
    example = examples.get_by_text("Tell me about Chinese-Russian")  # long examples are shown cut
    example.wait_for(state="visible")
    assert "Tell me about Zorblat Festival" in examples.inner_text()

    example.click()

    box = chat.page.locator("#newsdesk-question textarea")
    chat.page.wait_for_function(
        "document.querySelector('#newsdesk-question textarea').value"
        " === 'Tell me about Chinese-Russian Security Talks in Beijing'"
    )
    answer = chat.ask(box.input_value())
    assert "Shoigu" in flat(answer.inner_text())


def test_an_empty_index_says_how_to_add_articles(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.ui.test_app import start_server

    folder = tmp_path_factory.mktemp("empty")
    (folder / "no-seeds").mkdir()
    process, url = start_server(folder / "index", {"NEWSDESK_SEEDS": str(folder / "no-seeds")})
    context = browser.new_context()
    try:
        chat = ChatPage(context.new_page(), url)
        empty = chat.page.locator("#newsdesk-empty")
        empty.wait_for(state="visible")
        assert "No articles are indexed yet" in empty.inner_text() and "newsdesk index" in empty.inner_text()
        assert (
            chat.page.locator("#newsdesk-examples").count() == 0
            or not chat.page.locator("#newsdesk-examples").is_visible()
        )
    finally:
        context.close()
        process.terminate()
        process.wait(timeout=30)
