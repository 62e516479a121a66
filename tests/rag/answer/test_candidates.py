"""Candidate names: capitalised runs read as names without the words that only open a clause."""

from __future__ import annotations

import pytest

from newsdesk.rag.answer.candidates import name_spans


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Rite Aid bankruptcy: Is Rite Aid closing more stores?", "Rite Aid"),
        ("It's Sweden's seventh time winning the contest.", "Sweden"),
        ("What's Taylor Swift doing next?", "Taylor Swift"),
    ],
)
def test_a_question_word_auxiliary_or_contraction_opens_no_name(text: str, name: str) -> None:
    names = [text[s:e] for s, e, _ in name_spans(text, {"rite", "aid", "sweden", "taylor", "swift"})]
    assert name in names, names
    assert not any(n != name and n.endswith(name) for n in names), names
