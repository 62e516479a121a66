"""Follow-up questions rewritten into stand-alone ones, from the chat history.

``heuristic_standalone`` is a pure function (no model): pronouns are replaced by the entity they most
likely refer to (for *he/she*, the person the previous answer named first; for *it*, the previous
question's subject; for *they*, the previous answer's first new name when the previous question
asked who/which/what, else the previous question's subject), and a question left with no name at
all carries the previous question's names as its topic. ``llm_standalone`` asks the chat model
and accepts its rewrite only when it is one question that keeps the follow-up's own words;
``Rewriter`` takes it only when it also agrees with the conversation (see ``agrees``), else the
heuristic's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from newsdesk.dates import WEEKDAYS
from newsdesk.rag.llm.backends import token_limit
from newsdesk.rag.llm.prompt import rewrite_messages
from newsdesk.rag.llm.words import content_terms
from newsdesk.reading.lexicon import ORGANISATION_WORDS
from newsdesk.reading.markers import strip_markers
from newsdesk.reading.sentences import starts_sentence

HistoryItem = Mapping[str, Any] | BaseMessage | tuple[str, str]
"""A chat turn: ``{"role": "user"|"assistant", "content": ...}`` (Gradio's messages format), a LangChain
message, or a (question, answer) pair."""

REWRITE_MAX_TOKENS = 64
"""A rewritten question needs no more."""
_PERSON_PRONOUN = re.compile(r"\b(he|she|him|his|her|hers)\b", re.I)
_THING_PRONOUN = re.compile(r"\b(they|them|their|theirs|it|its)\b", re.I)
_IT = frozenset({"it", "its"})
_FOLLOWUP_START = re.compile(r"^\s*(?:and|but|so|also|what about|how about|then|and what|and who)\b", re.I)
_CAPITAL_RUN = re.compile(r"\b[A-Z][A-Za-z0-9'’-]*(?:\s+(?:of\s+|the\s+)?[A-Z][A-Za-z0-9'’-]*)*")
_WH_ANSWERED = re.compile(r"^\s*(?:who|whom|which|what)\b", re.I)
_NOT_NAMES = frozenset(
    """
    I A An The And But So Also What Who Whom Which When Where Why How Is Are Was Were Do Does Did Will
    Would Can Could Should In On At For From By With Of To It Its They Their He She His Her This That
    These Those There Then Yes No According Last Next
    """.split()
) | frozenset(WEEKDAYS)
"""Capitalised words that open a run but name nothing, as a question or an answer writes them."""


@dataclass(frozen=True)
class Rewrite:
    """A question as asked, as answered, and how it was rewritten (``none``, ``llm`` or ``heuristic``)."""

    asked: str
    standalone: str
    method: str

    @property
    def changed(self) -> bool:
        return self.standalone != self.asked


def turns_of(history: Sequence[HistoryItem], limit: int = 3) -> list[tuple[str, str]]:
    """The last ``limit`` (question, answer) pairs of a chat history, markers removed."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for item in history:
        if isinstance(item, tuple):
            pairs.append((str(item[0]), strip_markers(str(item[1]))))
            continue
        if isinstance(item, BaseMessage):
            role = (
                "user"
                if isinstance(item, HumanMessage)
                else "assistant"
                if isinstance(item, AIMessage)
                else ""
            )
            content = item.text if isinstance(item.content, list) else str(item.content)
        else:
            role, content = str(item.get("role", "")), str(item.get("content", ""))
        if role == "user":
            question = content
        elif role == "assistant" and question is not None:
            pairs.append((question, strip_markers(content)))
            question = None
    return pairs[-limit:] if limit else []


def is_followup(question: str) -> bool:
    """Whether a question leans on the conversation: a pronoun, a leading 'and ...', or no content words."""
    if (
        _FOLLOWUP_START.search(question)
        or _PERSON_PRONOUN.search(question)
        or _THING_PRONOUN.search(question)
    ):
        return True
    return len(content_terms(question)) <= 1


def names_in(text: str) -> list[str]:
    """Capitalised runs that look like names ("Sergei Shoigu", "Russian Security Council"), in order."""
    found = []
    for match in _CAPITAL_RUN.finditer(text):
        words = match.group().split()
        while words and words[0] in _NOT_NAMES:
            words.pop(0)
        if not words:
            continue
        start = match.start() + match.group().find(words[0])
        if len(words) == 1 and starts_sentence(text, start, after_colon=True):
            continue
        found.append(" ".join(words))
    return found


def _person(names: Sequence[str]) -> str | None:
    """The first name that looks like a person's; a title run keeps its last two words ("Sergei Shoigu")."""
    for name in names:
        words = name.split()
        if len(words) >= 2 and not ORGANISATION_WORDS.intersection(w.lower() for w in words[-2:]):
            return " ".join(words[-2:])
    return None


def heuristic_standalone(question: str, history: Sequence[HistoryItem]) -> str:
    """A stand-alone form of ``question`` from the last turn of ``history``, without any model.

    >>> heuristic_standalone("What will he see in Zhuhai?", [("Who is China hosting?", "Sergei Shoigu.")])
    'What will Shoigu see in Zhuhai?'
    """
    turns = turns_of(history, 1)
    if not turns or not is_followup(question):
        return question.strip()
    asked, answered = turns[-1]
    asked_names = names_in(asked)
    asked_lower = asked.lower()
    answer_names = [n for n in names_in(answered) if n.lower() not in asked_lower]
    person = _person(answer_names) or _person(asked_names)
    if _WH_ANSWERED.search(asked) and answer_names:
        thing = answer_names[0]
    else:
        thing = asked_names[0] if asked_names else (answer_names[0] if answer_names else "")
    text = re.sub(r"^\s*(?:and|but|so|also|then)\s+", "", question.strip(), flags=re.I)

    def replace(match: re.Match[str], name: str | None) -> str:
        word = match.group()
        if not name:
            return word
        if word.lower() in {"his", "hers", "their", "theirs", "its"}:
            return f"{name}'s"
        return name

    # A person named again goes by surname, as news copy does after the first mention ("Shoigu"): the
    # full name would make the retriever and the answerer favour the sentence that introduced him.
    surname = person.split()[-1] if person else None
    text = _PERSON_PRONOUN.sub(lambda m: replace(m, surname or thing), text, count=1)
    subject = asked_names[0] if asked_names else thing
    text = _THING_PRONOUN.sub(
        lambda m: replace(m, subject if m.group().lower() in _IT else thing), text, count=1
    )
    text = text[:1].upper() + text[1:]
    if not names_in(text):
        carried = [n for n in (asked_names or answer_names[:1]) if n.lower() not in text.lower()]
        if carried:
            body = text.rstrip(" ?")
            text = f"{body}, regarding {' and '.join(carried[:2])}?"
    return text


def valid_rewrite(original: str, rewritten: str) -> str | None:
    """The model's rewrite cleaned up, or None when it is not one question keeping the follow-up's words."""
    line = next((x for x in rewritten.strip().splitlines() if x.strip()), "")
    line = re.sub(r"^\s*(?:rewritten question|question|standalone question)\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip("\"“”'").strip()
    if not line or len(line) > 3 * len(original) + 120 or "passage" in line.lower():
        return None
    if not line.endswith("?"):
        if "?" not in line:
            return None
        line = line[: line.index("?") + 1]
    own = set(content_terms(original))
    kept = set(content_terms(line))
    if own and len(own & kept) / len(own) < 0.5:
        return None
    return line


def llm_standalone(
    model: BaseChatModel, question: str, history: Sequence[HistoryItem], limit: int = 3
) -> str | None:
    """The chat model's stand-alone rewrite of ``question``, if usable (None otherwise, or on error)."""
    turns = turns_of(history, limit)
    if not turns:
        return None
    reply = model.invoke(rewrite_messages(question, turns), **token_limit(model, REWRITE_MAX_TOKENS))
    return valid_rewrite(question, reply.text if hasattr(reply, "text") else str(reply.content))


class Rewriter:
    """Stand-alone questions: the LLM's rewrite when one is configured and usable, else the heuristic.

    Args:
        model: a chat model, a function that returns one when first needed (so a local server starts
            only when a follow-up needs it), or None for the heuristic only.
        limit: earlier turns read. Default: 3.
        on_error: called with the error when the model fails (the heuristic answers then).
    """

    def __init__(
        self,
        model: BaseChatModel | Callable[[], BaseChatModel] | None = None,
        limit: int = 3,
        on_error: Callable[[Exception], object] | None = None,
    ) -> None:
        self.model = model
        self.limit = limit
        self.on_error = on_error

    def rewrite(self, question: str, history: Sequence[HistoryItem]) -> Rewrite:
        asked = question.strip()
        if not history or not turns_of(history, self.limit) or not is_followup(asked):
            return Rewrite(asked, asked, "none")
        if self.model is not None:
            try:
                model = self.model if isinstance(self.model, BaseChatModel) else self.model()
                rewritten = llm_standalone(model, asked, history, self.limit)
            except Exception as error:  # an unreachable model must not stop the conversation
                rewritten = None
                if self.on_error is not None:
                    self.on_error(error)
            heuristic = heuristic_standalone(asked, history)
            if rewritten and rewritten != asked and agrees(asked, rewritten, heuristic, history):
                return Rewrite(asked, rewritten, "llm")
            return Rewrite(asked, heuristic, "heuristic")
        return Rewrite(asked, heuristic_standalone(asked, history), "heuristic")


def agrees(asked: str, rewritten: str, heuristic: str, history: Sequence[HistoryItem]) -> bool:
    """Whether to take the model's rewrite: it must resolve the follow-up with the conversation's names.

    It must hold fewer pronouns than the question, add only names that the conversation used, and
    keep every name the heuristic put in (a small model that swaps "he" for the wrong entity loses to
    the heuristic; a model that resolves what the heuristic could not still wins).
    """
    pronouns = len(_PERSON_PRONOUN.findall(asked)) + len(_THING_PRONOUN.findall(asked))
    after = len(_PERSON_PRONOUN.findall(rewritten)) + len(_THING_PRONOUN.findall(rewritten))
    if pronouns and after >= pronouns:
        return False
    said = " ".join(f"{q} {a}" for q, a in turns_of(history, 10)).lower()
    added = [n for n in names_in(rewritten) if n.lower() not in asked.lower()]
    if not added or any(n.lower() not in said for n in added):
        return False
    inserted = [n for n in names_in(heuristic) if n.lower() not in asked.lower()]
    return all(n.lower() in rewritten.lower() for n in inserted)
