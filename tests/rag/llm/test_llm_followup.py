"""Follow-up questions rewritten from the history: the heuristic, and the model with its checks."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage

from newsdesk.rag.llm.followup import Rewriter, heuristic_standalone, is_followup, turns_of, valid_rewrite

SHOIGU = [
    (
        "Who is China hosting for security talks?",
        "China is hosting Russian Security Council Secretary Sergei Shoigu for strategic security talks. [1]",
    )
]


def test_a_person_pronoun_becomes_the_person_of_the_answer() -> None:
    assert heuristic_standalone("What will he see in Zhuhai?", SHOIGU) == "What will Shoigu see in Zhuhai?"


def test_they_after_a_which_question_is_the_answer() -> None:
    history = [("Which team won the 2023 FA Cup final?", "Manchester City won the 2023 FA Cup final. [1]")]
    assert heuristic_standalone("and who did they beat?", history) == "Who did Manchester City beat?"


def test_it_is_the_subject_of_the_question() -> None:
    history = [("Who runs Apple?", "Tim Cook is the chief executive of Apple. [1]")]
    assert heuristic_standalone("When was it founded?", history) == "When was Apple founded?"


def test_the_topic_is_carried_when_the_follow_up_names_nothing() -> None:
    history = [("What did NASA announce about Artemis?", "NASA delayed Artemis. [1]")]
    assert (
        heuristic_standalone("what about the budget?", history)
        == "What about the budget, regarding NASA and Artemis?"
    )


def test_stand_alone_questions_are_left_alone() -> None:
    assert not is_followup("Who is the president of France?")
    assert (
        heuristic_standalone("Who is the president of France?", SHOIGU) == "Who is the president of France?"
    )
    assert Rewriter().rewrite("Who is the president of France?", SHOIGU).method == "none"


def test_history_formats() -> None:
    chat = [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Sergei Shoigu. [1]"}]
    assert turns_of(chat) == [("Who?", "Sergei Shoigu.")]
    assert turns_of([HumanMessage("Who?"), AIMessage("Shoigu. [1]")]) == [("Who?", "Shoigu.")]
    assert turns_of(SHOIGU, 0) == []


def test_the_model_rewrite_is_taken_when_it_resolves_with_the_conversation() -> None:
    model = FakeListChatModel(responses=["What will Shoigu see in Zhuhai?"])
    rewrite = Rewriter(model).rewrite("What will he see in Zhuhai?", SHOIGU)
    assert (rewrite.standalone, rewrite.method) == ("What will Shoigu see in Zhuhai?", "llm")


def test_a_model_rewrite_with_the_wrong_entity_loses_to_the_heuristic() -> None:
    model = FakeListChatModel(responses=["What will Russia's aircraft be seen in Zhuhai?"])
    rewrite = Rewriter(model).rewrite("What will he see in Zhuhai?", SHOIGU)
    assert (rewrite.standalone, rewrite.method) == ("What will Shoigu see in Zhuhai?", "heuristic")


def test_a_failing_model_falls_back_to_the_heuristic_and_is_reported() -> None:
    errors: list[Exception] = []

    def broken() -> BaseChatModel:
        raise ConnectionError("down")

    rewrite = Rewriter(broken, on_error=errors.append).rewrite("What will he see in Zhuhai?", SHOIGU)
    assert rewrite.method == "heuristic" and "Shoigu" in rewrite.standalone
    assert [str(e) for e in errors] == ["down"]


def test_valid_rewrite() -> None:
    assert (
        valid_rewrite("What will he see?", "Rewritten question: What will Shoigu see?\nextra")
        == "What will Shoigu see?"
    )
    assert valid_rewrite("What will he see?", "Sure! Here is the passage.") is None
    assert valid_rewrite("What will he see in Zhuhai?", "Who won the cup?") is None
