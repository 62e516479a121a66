"""Question checks: bad input gets a clear, polite reply before any work is done."""

from __future__ import annotations

import pytest

from newsdesk.rag.checks import question_problem


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_asks_for_a_question(question: str) -> None:
    message = question_problem(question, 1000)
    assert message is not None and message.startswith("Please type a question")


def test_huge_question_says_how_long_is_allowed() -> None:
    message = question_problem("why" + " why" * 24_999, 1000)
    assert message is not None and "99,999 characters" in message and "1,000" in message


@pytest.mark.parametrize(
    "question",
    [
        "谁在北京参加安全会谈？",
        "Кто посещает Пекин?",
        "¿Quién está visitando Pekín para las conversaciones?",
        "Qui est en visite à Pékin pour les discussions?",
        "Wer besucht Peking für die Gespräche?",
    ],
)
def test_other_languages_are_asked_to_use_english(question: str) -> None:
    message = question_problem(question, 1000)
    assert message is not None and "English" in message


@pytest.mark.parametrize(
    "question",
    [
        "Who is visiting Beijing?",
        "What did Zakharova say?",
        "Is Shoigu in Zhuhai?",
        "When is the Su-57 show?",
    ],
)
def test_ordinary_english_questions_pass(question: str) -> None:
    assert question_problem(question, 1000) is None


def test_punctuation_only_is_not_a_question() -> None:
    message = question_problem("?!?", 1000)
    assert message is not None and "words" in message
