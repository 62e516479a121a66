"""The answerer on real passages: articles chunked as indexing does, scored with the real model.

Each test reads like a user's question and what the first sentence of the answer must say.
"""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.documents import Document

from newsdesk.eval.metrics import contains_answer, lead_of
from newsdesk.index.chunk import chunk_article
from newsdesk.index.embed import Embedder
from newsdesk.index.load import Article
from newsdesk.rag.answer import ABSTAIN_MESSAGE, ExtractiveAnswerer
from newsdesk.rag.types import Answer
from newsdesk.rag.verify import quote_matches, reconcile
from newsdesk.reading.markers import MARKER
from tests.conftest import SEED_ARTICLE

BRIDGE = Article(
    id="bridge",
    title="Harbor Bridge to reopen after repairs",
    source="Harbor Gazette",
    url="mem://bridge",
    published="2025-02-10",
    text=(
        "Harbor Bridge to reopen after repairs\n"
        "The city council voted on Monday to reopen the Harbor Bridge to traffic after months of repairs. "
        "Council member Dana Ortiz said the Harbor Bridge will reopen on 14 March 2025. "
        "Engineers replaced 42 steel cables during the repairs, at a cost of $18 million. "
        "Residents had complained about long detours while the Harbor Bridge was closed."
    ),
)
MUSEUM = Article(
    id="museum",
    title="A museum on stilts",
    source="Arts Weekly",
    url="mem://museum",
    text=(
        "A museum on stilts\n"
        "The art museum on Paulista Avenue, which was designed by the architect Lina Bo Bardi and took "
        "more than a decade to build, opened to the public in 1968, although its sculpture garden was "
        "not finished until much later."
    ),
)
ACME = Article(
    id="acme",
    title="Acme profits rise",
    source="Daily Planet",
    url="mem://acme",
    text=(
        "Acme profits rise\n"
        "Acme reported that its quarterly profits rose 12 percent, helped by strong sales of its rockets. "
        "The company's chief executive said demand would stay high through the winter."
    ),
)
GLOBEX = Article(
    id="globex",
    title="Globex results",
    source="The Courier",
    url="mem://globex",
    text=(
        "Globex results\n"
        "Globex said its quarterly profits fell 3 percent as the cost of steel went up. "
        "The company plans to cut prices on its home robots next year."
    ),
)
SEED = Article(
    id="seed",
    title="Chinese-Russian Security Talks in Beijing",
    source="Seed",
    url="mem://seed",
    text=SEED_ARTICLE.read_text(encoding="utf-8"),
)


def passages(embedder: Embedder, question: str, *articles: Article, max_chars: int = 700) -> list[Document]:
    """The articles' chunks as a retriever returns them, best first, scored against the question."""
    query = np.asarray(embedder.embed_query(question), dtype=np.float32)
    documents: list[Document] = []
    for article in articles:
        chunks = chunk_article(article, max_chars=max_chars, overlap=0)
        vectors = embedder.encode([c.text for c in chunks])
        for chunk, vector in zip(chunks, vectors, strict=True):
            meta = {
                "article_id": article.id,
                "title": article.title,
                "url": article.url,
                "source": article.source,
                "published": article.published,
                "start": chunk.start,
                "end": chunk.end,
                "score": float(vector @ query),
            }
            documents.append(
                Document(page_content=chunk.text, metadata=meta, id=f"{article.id}:{chunk.number}")
            )
    return sorted(documents, key=lambda d: d.metadata["score"], reverse=True)


@pytest.fixture(scope="module")
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer.load()


def ask(embedder: Embedder, question: str, *articles: Article) -> Answer:
    documents = passages(embedder, question, *articles)
    answer = reconcile(ExtractiveAnswerer.load().answer(question, documents))
    if not answer.abstained:
        assert_well_formed(answer, *articles)
    return answer


def assert_well_formed(answer: Answer, *articles: Article) -> None:
    """Every quote is the article's text at its offsets; markers and citations match one to one;
    the answer is short and no sentence is repeated."""
    texts = {a.id: a.text for a in articles}
    titles = {a.id: a.title for a in articles}
    for c in answer.citations:
        if c.field == "title":
            assert titles[c.article_id][c.start : c.end] == c.quote
        else:
            assert quote_matches(c, texts[c.article_id])
    assert {int(n) for n in MARKER.findall(answer.answer)} == {c.n for c in answer.citations}
    sentences = [s.strip() for s in MARKER.sub("|", answer.answer).split("|") if s.strip()]
    assert len(sentences) == len(set(sentences)) <= 3


def says(answer: Answer, expected: str) -> bool:
    """The answer's first sentence states ``expected`` (as whole words)."""
    return not answer.abstained and contains_answer(lead_of(answer.answer), [expected])


def test_when_states_the_date(embedder: Embedder) -> None:
    assert says(ask(embedder, "When will the Harbor Bridge reopen?", BRIDGE), "14 March 2025")


def test_how_many_and_how_much_state_the_number(embedder: Embedder) -> None:
    assert says(
        ask(embedder, "How many steel cables did engineers replace on the Harbor Bridge?", BRIDGE), "42"
    )
    assert says(ask(embedder, "How much did the Harbor Bridge repairs cost?", BRIDGE), "$18 million")


def test_who_states_the_name(embedder: Embedder) -> None:
    assert says(ask(embedder, "Who said when the Harbor Bridge will reopen?", BRIDGE), "Dana Ortiz")


def test_the_year_is_stated_from_a_long_sentence(embedder: Embedder) -> None:
    answer = ask(embedder, "In what year did the art museum open to the public?", MUSEUM)
    assert says(answer, "1968")
    assert answer.short_answer == "1968"


def test_why_questions_quote_the_sentence_that_gives_the_reason(embedder: Embedder) -> None:
    answer = ask(embedder, "Why did residents complain about the Harbor Bridge?", BRIDGE)
    assert says(answer, "long detours")


def test_a_question_naming_two_outlets_cites_both(embedder: Embedder) -> None:
    question = "Did both the Daily Planet and The Courier report that quarterly profits rose?"
    answer = ask(embedder, question, ACME, GLOBEX)
    assert says(answer, "no")  # Globex's profits fell
    assert {c.source for c in answer.citations} == {"Daily Planet", "The Courier"}


def test_a_plain_question_stays_with_its_article(embedder: Embedder) -> None:
    answer = ask(embedder, "By how much did Acme's quarterly profits rise?", ACME, GLOBEX)
    assert says(answer, "12 percent")
    assert answer.citations[0].article_id == "acme"


def test_the_seed_question_a_visitor_asks_first_names_shoigu_up_front(embedder: Embedder) -> None:
    answer = ask(embedder, "Who is visiting Beijing for security talks?", SEED)
    assert says(answer, "Sergei Shoigu")


def test_a_question_with_a_swapped_place_is_refused(embedder: Embedder) -> None:
    swapped = ask(embedder, "Who is visiting Tokyo for security talks?", SEED)
    assert swapped.abstained and swapped.answer == ABSTAIN_MESSAGE and swapped.citations == []


def test_a_question_with_a_swapped_number_is_refused(embedder: Embedder) -> None:
    assert not ask(embedder, "How much did the repairs of the 42 steel cables cost?", BRIDGE).abstained
    assert ask(embedder, "How much did the repairs of the 57 steel cables cost?", BRIDGE).abstained


def test_an_unrelated_question_is_refused(embedder: Embedder) -> None:
    assert ask(embedder, "What is the capital of Peru?", BRIDGE, MUSEUM).abstained


def test_no_passages_means_abstention() -> None:
    answer = ExtractiveAnswerer.load().answer("When will the bridge reopen?", [])
    assert answer.abstained and answer.citations == []


SEED_QUESTIONS = [
    ("Who is visiting Beijing for security talks?", "Shoigu"),
    ("Where will the Su-57 stealth fighter be showcased?", "Zhuhai"),
    ("When is the meeting scheduled?", "Tuesday"),
    ("Who will Shoigu meet in Beijing?", "Wang Yi"),
    ("What aircraft will Russia display at the airshow in Zhuhai?", "Su-57"),
]


@pytest.mark.parametrize(("question", "expected"), SEED_QUESTIONS)
def test_plain_questions_about_the_seed_article_are_answered_up_front(
    embedder: Embedder, question: str, expected: str
) -> None:
    assert says(ask(embedder, question, SEED), expected)
