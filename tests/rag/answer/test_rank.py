"""The candidate ranker: what it reads about each answer group (shares, counts and flags, so no
corpus's scale matters), and how fitted weights reorder the groups: the name the question's relation
is said of ("Kuwait shut down its airport") over names of the same kind that only stand nearby."""

from __future__ import annotations

import math

import pytest
from langchain_core.documents import Document

from newsdesk.eval.metrics import lead_of
from newsdesk.index.entities import EntityRecognizer
from newsdesk.rag.answer import ExtractiveAnswerer
from newsdesk.rag.answer.model import ReaderModel
from newsdesk.rag.answer.rank import FEATURES, chances, features_of, rank_groups
from tests.rag.answer.test_typed_reader import article

AIRPORT = (
    "Israel and Qatar condemned the attack on Wednesday.\n\n"
    "Kuwait shut down its international airport after a drone strike by Iran hit a fuel depot nearby, "
    "officials said.\n\n"
    "Jordan and Qatar kept their airports open, and flights to Israel resumed."
)
QUESTION = "Which Middle Eastern country shut down its international airport after a drone strike?"


@pytest.fixture(scope="module")
def recognizer() -> EntityRecognizer:
    return EntityRecognizer()


@pytest.fixture(scope="module")
def docs(recognizer: EntityRecognizer) -> list[Document]:
    return [article(recognizer, AIRPORT, "Drone strike on the Gulf", url="https://example.test/a", score=0.5)]


def unranked() -> ExtractiveAnswerer:
    return ExtractiveAnswerer(model=ReaderModel())


def test_every_group_gets_every_feature_as_a_share_count_or_flag(docs: list[Document]) -> None:
    reading = unranked().read(QUESTION, docs)
    keys = [g.key for g in reading.groups]
    assert {"kuwait", "qatar", "israel"} <= set(keys), keys
    for features in features_of(reading.question, reading.groups):
        assert set(features) == set(FEATURES)
        assert all(0.0 <= v <= 1.0 for k, v in features.items() if k not in ("articles", "mentions"))
        assert features["bias"] == 1.0


def test_the_relation_said_of_a_name_is_read_right_after_it(docs: list[Document]) -> None:
    reading = unranked().read(QUESTION, docs)
    by_key = dict(
        zip([g.key for g in reading.groups], features_of(reading.question, reading.groups), strict=True)
    )
    assert by_key["kuwait"]["relation_after"] > by_key["qatar"]["relation_after"]
    assert by_key["kuwait"]["subject"] == 1.0  # it opens its sentence


def test_chances_are_a_softmax_over_the_question_s_groups() -> None:
    weights = {"relation_after": 2.0}
    found = chances(weights, [{"relation_after": 1.0}, {"relation_after": 0.0}, {"relation_after": 0.0}])
    assert math.isclose(sum(found), 1.0)
    assert found[0] > found[1] == found[2]


def test_without_weights_the_hand_set_order_stands(docs: list[Document]) -> None:
    reading = unranked().read(QUESTION, docs)
    before = [g.key for g in reading.groups]
    assert [g.key for g in rank_groups(reading.question, list(reading.groups), None)] == before


def test_fitted_weights_put_the_name_the_relation_is_said_of_first(docs: list[Document]) -> None:
    model = ReaderModel.load()
    model.candidate_weights = {"relation_after": 5.0, "subject": 2.0}
    answerer = ExtractiveAnswerer(model=model)
    reading = answerer.read(QUESTION, docs)
    assert reading.groups[0].key == "kuwait"
    answer = answerer.answer(QUESTION, docs)
    assert "Kuwait shut down" in lead_of(answer.answer), answer.answer
