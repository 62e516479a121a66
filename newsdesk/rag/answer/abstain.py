"""Abstention: estimate the chance that the evidence answers the question; refuse under a threshold.

The features ask whether the *evidence* says what the question says, not whether it is worded alike.
The evidence is the best sentences (the best one and those scoring at least ``KEEP_RATIO`` of it, at
most three) with their neighbours, plus the headlines, outlets and dates of the retrieved articles; for
a compound question (yes/no, choice, one naming two outlets, or a long one) it is every passage.

* ``best_overlap``: the share of the question's words the best sentence holds (the whole evidence's
  share for a compound question);
* ``names_missing`` / ``numbers_missing``: the share of the question's names / numbers that the
  evidence does not hold (acronyms and one-letter misspellings forgiven): a question about a person
  or a year the articles never mention cannot be answered from them;
* ``outlet_missing``: the question cites an outlet ("according to Reuters") that no passage is from
  and no passage names;
* ``type_missing``: the question wants a typed answer (a person, a date, an amount ...) and no span of
  that type was found; ``answer_score``: the best answer group's score (votes included);
* ``negation_unmatched``: the question negates and the evidence does not; ``negation_reversed``: the
  best sentence negates one of the question's words ("did not win") and the question does not (a
  negation elsewhere in it, "whose sponsor was not named", says nothing of the answer);
  ``antonym_swap`` / ``negating_prefix``: a question word is missing from the evidence but its
  opposite ("largest"/"smallest", "legal"/"illegal") is there (these four are 0 for compound
  questions, which are checked claim by claim);
* ``order_kept``: the share of the question's consecutive content-word pairs the best sentence keeps in
  order, within four words (a question that swaps roles keeps the words, not their order);
* ``yes_no``: a yes/no or choice question.

Left out on purpose: the sentence ranker's probability and the evidence's overall coverage (fitted
together with ``best_overlap`` they took opposite signs, learning the eval sets' quirks: SQuAD 2.0's
unanswerable questions are written to match a sentence closely), and retrieval similarity (cosine):
its scale depends on the corpus and on the question's length (short questions about one detail of a
long passage score 0.2 to 0.3 where the eval sets' questions score 0.5 to 0.6), so a model leaning on
it refuses plainly worded questions about articles unlike the eval sets'.

The logistic weights and the threshold live in ``data/reader.json`` (``abstain``), written by
``python -m reader.calibrate``; nothing here is fitted by hand.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from newsdesk.dates import MONTH_NAMES
from newsdesk.rag.answer.candidates import Sentence
from newsdesk.rag.answer.question import Question, is_negation, missing_outlets, negation_terms
from newsdesk.rag.answer.reading import Reading
from newsdesk.rag.answer.yesno import _NEGATING_PREFIX, ANTONYMS
from newsdesk.reading.outlets import named_sources
from newsdesk.reading.words import share, stem, stems, words

FEATURES = (
    "bias",
    "best_overlap",
    "names_missing",
    "numbers_missing",
    "outlet_missing",
    "type_missing",
    "answer_score",
    "negation_unmatched",
    "negation_reversed",
    "antonym_swap",
    "negating_prefix",
    "order_kept",
    "yes_no",
)
KEEP_RATIO = 0.9
"""Sentences scoring at least this share of the best one's relevance join the evidence."""
COMPOUND_TERMS = 12
"""A question with this many content words combines several facts: its evidence is every passage."""


def _metadata_stems(reading: Reading) -> set[str]:
    """Stems of what a question may name besides the text: headlines, outlets, dates."""
    out: set[str] = set()
    for p in reading.passages:
        text = f"{p.title} {p.source}"
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", p.published)
        if m:
            year, month, day = m.groups()
            name = MONTH_NAMES[int(month) - 1] if 1 <= int(month) <= 12 else ""
            text += f" {p.published} {year} {int(day)} {int(day)}th {name}"
        out |= stems(text)
    return out


def _initials(texts: Iterable[str]) -> set[str]:
    """Acronyms that runs of capitalised words could stand for ("Scottish Parliament" gives "sp")."""
    found: set[str] = set()
    for text in texts:
        for m in re.finditer(r"\b[A-Z][a-z]+(?:\s+(?:of\s+|the\s+|and\s+)?[A-Z][a-z]+)+", text):
            initials = [w[0] for w in m.group().split() if w[0].isupper()]
            for i in range(len(initials)):
                for j in range(i + 2, len(initials) + 1):
                    found.add("".join(initials[i:j]).lower())
    return found


def _near_miss(name: str, present: Iterable[str]) -> bool:
    """A name spelled one letter differently ("Zeria" for "Zeira") still counts as present."""
    if len(name) < 4:
        return False
    for other in present:
        if len(other) == len(name) and other[0] == name[0]:
            diff = sum(x != y for x, y in zip(name, other, strict=True))
            if diff <= 1 or (diff <= 2 and sorted(name) == sorted(other)):
                return True
    return False


def order_kept(question: str, terms: dict[str, float], sentence_stems: list[str]) -> float:
    """Share of the question's consecutive content-word pairs that the sentence has in the same order
    (within four words): a question that swaps roles keeps the words but not their order."""
    sequence = [stem(t) for t in words(question) if stem(t) in terms]
    pairs = list(itertools.pairwise(sequence))
    if not pairs:
        return 1.0
    positions: dict[str, list[int]] = {}
    for i, t in enumerate(sentence_stems):
        positions.setdefault(t, []).append(i)
    kept = 0
    for first, second in pairs:
        a, b = positions.get(first), positions.get(second)
        if a and b and any(0 < y - x <= 4 for x in a for y in b):
            kept += 1
    return kept / len(pairs)


NEGATION_REACH = 4
"""Words after a negation that it says "not" of ("did not win the race")."""


def negates_the_question(text: str, terms: dict[str, float]) -> bool:
    """Whether a negation in ``text`` stands just before one of the question's words: "Smith did not
    win" reverses "Who won?", "The company, which was not named, recalled ..." does not."""
    tokens = list(words(text))
    for i, token in enumerate(tokens):
        if is_negation(token) and any(stem(t) in terms for t in tokens[i + 1 : i + 1 + NEGATION_REACH]):
            return True
    return False


def compound(reading: Reading) -> bool:
    q = reading.question
    return (
        q.answer_type in ("yesno", "choice")
        or len(q.terms) >= COMPOUND_TERMS
        or len(named_sources(q.text, [p.source for p in reading.passages])) >= 2
    )


def features(reading: Reading) -> dict[str, float]:
    """The features of ``FEATURES`` for one reading (0 where they do not apply)."""
    q = reading.question
    out = dict.fromkeys(FEATURES, 0.0)
    out["bias"] = 1.0
    if not reading.sentences:
        return out
    ranked = reading.ranked
    best = ranked[0]
    chosen = [s for s in ranked[:3] if s.relevance >= KEEP_RATIO * best.relevance]
    about = _metadata_stems(reading)
    many = compound(reading)
    if many:
        evidence = about.union(*(s.stems for s in reading.sentences))
    else:
        evidence = about.union(*(s.window for s in chosen))
    out["best_overlap"] = share(q.terms, evidence) if many else best.overlap
    missing = set(q.names - evidence)
    if missing:
        acronyms = _initials(s.text for s in chosen)
        missing = {n for n in missing if n not in acronyms and not _near_miss(n, evidence)}
    if q.names:
        out["names_missing"] = len(missing) / len(q.names)
    if q.numbers:
        out["numbers_missing"] = len(q.numbers - evidence) / len(q.numbers)
    text = " ".join(p.doc.page_content for p in reading.passages)
    out["outlet_missing"] = float(bool(missing_outlets(q.text, [p.source for p in reading.passages], text)))
    if q.typed:
        out["type_missing"] = float(not reading.groups)
        out["answer_score"] = reading.groups[0].score if reading.groups else 0.0
    if q.answer_type in ("yesno", "choice"):
        out["yes_no"] = 1.0
    out["order_kept"] = order_kept(
        q.text, q.terms, [t for s in reading.sentences for t in s.token_stems] if many else best.token_stems
    )
    if many:
        return out
    q_negated = bool(negation_terms(q.text))
    out["negation_unmatched"] = float(q_negated and not any(negation_terms(s.text) for s in chosen))
    out["negation_reversed"] = float(not q_negated and negates_the_question(best.text, q.terms))
    for token in words(q.text):
        st = stem(token)
        if st in evidence:
            continue
        if ANTONYMS.get(st, frozenset()) & evidence:
            out["antonym_swap"] = 1.0
        m = _NEGATING_PREFIX.match(token.lower())
        if m and token.islower() and stem(token[m.end() :]) in evidence:
            out["negating_prefix"] = 1.0
    return out


_SAID_ALSO_AS = {
    stem(word): frozenset(stem(other) for other in others.split())
    for word, others in {
        "men": "man male males",
        "women": "woman female females",
        "people": "person persons population inhabitants residents citizens",
        "children": "child kids boys girls",
    }.items()
}
"""Plain English words that a counted or asked-about noun is often written as (stems)."""


def holds_asked(sentence: Sentence, asked: Sequence[str]) -> bool:
    """The sentence, its neighbours, its known aliases or its article's headline name an asked word
    (``Question.asked``; True when the question asks about no such word)."""
    if not asked:
        return True
    return names_asked(asked, sentence.window | set(sentence.aliases) | stems(sentence.passage.title))


def names_asked(asked: Sequence[str], present: set[str] | frozenset[str]) -> bool:
    """Whether ``present`` (stems) holds an asked word, or a plain word it is often written as."""
    return any(word in present or _SAID_ALSO_AS.get(word, frozenset()) & present for word in asked)


def keep_answers_about_the_asked(reading: Reading) -> None:
    """Keep only the answer candidates stated next to what the question asks about.

    "Who is the mayor of Columbus?" must be answered from a sentence (or its neighbours) that says
    "mayor": a person named next to "Columbus" in a story about chess is not its mayor. The same for
    the thing a "how many THINGS" question counts. The answerer then checks its lead sentence the
    same way (``holds_asked``) and abstains when it fails.
    """
    asked = reading.question.asked
    if asked and reading.groups:
        reading.groups = [g for g in reading.groups if any(holds_asked(sp.sentence, asked) for sp in g.spans)]


def asked_missing(reading: Reading) -> bool:
    """The question asks about a role or counts a thing ("Who is the mayor ...", "How many passengers
    ...") that no retrieved passage, headline or known alias names: whatever else matches, the
    articles do not hold that answer. A rule, not a fitted weight: the eval sets hardly ask such
    questions, and a model fitted on them would not learn it."""
    asked = reading.question.asked
    if not asked or not reading.passages:
        return False
    present: set[str] = set()
    for passage in reading.passages:
        present |= stems(passage.doc.page_content) | stems(passage.title)
    for sentence in reading.sentences:
        present |= set(sentence.aliases)
    return not names_asked(asked, present)


RELATION_FIT = 0.5
"""A candidate of at least this type fit (``spans.TYPE_FIT``) may be of the asked kind (the small NER
model often labels a product or a show as an organisation)."""


def relation_terms(q: Question) -> set[str]:
    """The question's words that say what happened (its relation: "recalled", "pickup", "trucks"):
    its content words less the names it mentions, its numbers and the asked kind's own noun."""
    focus = {stem(w) for w in q.focus.replace("-", " ").split()} if q.focus else set()
    return {t for t in q.terms if t not in q.names and t not in q.numbers and t not in focus}


def states_asked_kind(reading: Reading) -> bool:
    """Whether a candidate of the asked kind stands in a sentence (with its neighbours, or the sentence
    whose relevance it carries) that shares the question's relation. A "which X" question is refused
    when none does: the articles name things of that kind, or say what happened, but not both
    together, so they do not say which X did it."""
    q = reading.question
    relation = relation_terms(q)
    if not relation or compound(reading):
        return True  # a question combining several facts is checked against all its evidence
    best = next((s for s in reading.ranked if not s.heading), None)
    for group in reading.groups:
        for span in group.spans:
            if span.features.get("fit", 0.0) < RELATION_FIT:
                continue
            sentence = span.sentence
            near = set(sentence.window)
            if sentence.context_from is not None:
                near |= sentence.context_from.window
            # The best-matching sentence (or its neighbour) says what happened in other words.
            if relation & near or (best is not None and (best is sentence or best in sentence.neighbours)):
                return True
    return False
