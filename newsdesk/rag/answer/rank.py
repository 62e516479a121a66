"""Candidate ranking: which of the answer groups of the asked kind is *the* answer.

The hand-set span score (``spans.score_spans``) finds the gold answer among its top five candidates
far more often than first: on real news questions many names of the asked kind stand near the
question's words (every country in a story about a drone strike). What tells the answer apart is
read here as features of a group of mentions, each a share, a count or a flag, so that nothing
depends on one corpus's scale:

* how the hand-set score placed it (``heuristic``: its score relative to the best group's;
  ``first``: it was first);
* where it is stated: in a sentence that echoes the question (``relevance``, ``context``,
  ``carried``: only next to one), in a headline, in an article's opening sentence, at the start of
  its sentence (the subject: "Kuwait shut down its airport");
* how it stands to what happened: the share of the question's relation words (``abstain.
  relation_terms``) in its sentence and just after or before it (``relation_after``,
  ``relation_before``), the proximity of the question's rarer words (``proximity``);
* redundancy (AskMSR): how many of the retrieved articles carry it, how many mentions;
* kind: the type fit, a named-entity label (not a capitalised run), an apposition that calls it a
  thing of the asked kind ("Zepbound, the weight-loss drug"), its novelty against the question.

The weights are a logistic model fitted by ``newsdesk.eval.calibrate --fit-candidates`` on
``realtimeqa-train`` (cross-validated by week there, reported on ``realtimeqa-news``), stored in
``model.json`` under ``candidates``; without them the hand-set order stands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from newsdesk.rag.answer.abstain import relation_terms
from newsdesk.rag.answer.candidates import Passage, Sentence, Span
from newsdesk.rag.answer.kinds import ENTITY_KINDS
from newsdesk.rag.answer.question import Question
from newsdesk.rag.answer.spans import STRONG_FIT, Group, described_as, describes
from newsdesk.reading.words import stems

FEATURES = (
    "bias",
    "heuristic",
    "first",
    "fit",
    "entity",
    "described",
    "novelty",
    "proximity",
    "relevance",
    "context",
    "carried",
    "describing",
    "headline",
    "opening",
    "subject",
    "relation",
    "relation_after",
    "relation_before",
    "articles",
    "article_share",
    "mentions",
    "passage_rank",
    "words",
)
"""What the candidate ranker reads about each answer group (see the module's docstring)."""

NAMES_FOR_SLACK = 3
"""A question naming this many names may have its answer in an article missing one of them: "TV" in
"the TV series 'The Mandalorian'", "F1" in "F1 driver Lewis Hamilton" are seldom repeated."""
NEAR_TOKENS = 6
"""Tokens after (or before) a mention in which the question's relation words count as said of it."""


def _token_range(span: Span) -> tuple[int, int]:
    inside = [i for i, (a, b) in enumerate(span.sentence.token_offsets) if a >= span.start and b <= span.end]
    if not inside:
        return -1, -1
    return inside[0], inside[-1]


def _share_near(sentence: Sentence, first: int, last: int, relation: set[str], after: bool) -> float:
    if not relation or first < 0:
        return 0.0
    stems = sentence.token_stems
    window = stems[last + 1 : last + 1 + NEAR_TOKENS] if after else stems[max(0, first - NEAR_TOKENS) : first]
    return len(relation & set(window)) / len(relation)


def _opening(sentence: Sentence) -> bool:
    """The article's first sentence (the chunk starts the article and the sentence starts the chunk)."""
    start = int(sentence.passage.doc.metadata.get("start", 0) or 0)
    return (
        sentence.field == "text"
        and start == 0
        and sentence.start == min((n.start for n in sentence.neighbours), default=sentence.start)
        and sentence.start < 400
    )


def group_features(
    q: Question, group: Group, rank: int, best_score: float, n_articles: int
) -> dict[str, float]:
    """The ``FEATURES`` of one answer group (``rank``: its place in the hand-set order)."""
    relation = relation_terms(q)
    out = dict.fromkeys(FEATURES, 0.0)
    out["bias"] = 1.0
    out["heuristic"] = group.score / best_score if best_score > 0 else 0.0
    out["first"] = float(rank == 0)
    articles = {s.sentence.passage.article for s in group.spans}
    out["articles"] = math.log1p(len(articles))
    out["article_share"] = len(articles) / max(1, n_articles)
    out["mentions"] = math.log1p(len(group.spans))
    out["words"] = min(4, len(group.key.split())) / 4
    for span in group.spans:
        sentence = span.sentence
        first, last = _token_range(span)
        out["fit"] = max(out["fit"], span.features.get("fit", 0.0))
        out["novelty"] = max(out["novelty"], span.features.get("novelty", 0.0))
        out["proximity"] = max(out["proximity"], span.features.get("proximity", 0.0))
        out["entity"] = max(out["entity"], float(span.kind in ENTITY_KINDS))
        out["described"] = max(out["described"], float(bool(q.focus) and described_as(q.focus, span)))
        out["relevance"] = max(out["relevance"], sentence.relevance)
        out["context"] = max(out["context"], sentence.context)
        carried = sentence.context_from is not None and sentence.context > sentence.relevance
        out["carried"] = max(out["carried"], float(carried))
        out["describing"] = max(out["describing"], float(sentence.field == "text" and describes(q, sentence)))
        out["headline"] = max(out["headline"], float(sentence.heading))
        out["opening"] = max(out["opening"], float(_opening(sentence)))
        out["subject"] = max(out["subject"], float(0 <= first <= 1))
        if relation:
            near = set(sentence.window)
            out["relation"] = max(out["relation"], len(relation & near) / len(relation))
        after = _share_near(sentence, first, last, relation, True)
        before = _share_near(sentence, first, last, relation, False)
        out["relation_after"] = max(out["relation_after"], after)
        out["relation_before"] = max(out["relation_before"], before)
        out["passage_rank"] = max(out["passage_rank"], 1.0 / (1.0 + sentence.passage.rank))
    return out


def features_of(q: Question, groups: Sequence[Group]) -> list[dict[str, float]]:
    """``group_features`` of every group, in the hand-set order."""
    best = groups[0].score if groups else 0.0
    n_articles = len({s.sentence.passage.article for g in groups for s in g.spans})
    return [group_features(q, g, i, best, n_articles) for i, g in enumerate(groups)]


def chances(weights: dict[str, float], features: Sequence[dict[str, float]]) -> list[float]:
    """Softmax of the weighted features over one question's groups: the chance each is the answer,
    given that one of them is."""
    z = [sum(weights.get(k, 0.0) * v for k, v in f.items()) for f in features]
    top = max(z, default=0.0)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def names_held(q: Question, passages: Sequence[Passage]) -> float:
    """The largest share of the question's names that one of the passages holds (in its text or
    headline): "the mayor of Columbus" is named in a story that speaks of Columbus."""
    if not q.names:
        return 1.0
    return max(
        (len(q.names & (stems(p.doc.page_content) | stems(p.title))) / len(q.names) for p in passages),
        default=0.0,
    )


def rank_groups(
    q: Question, groups: list[Group], weights: dict[str, float] | None, passages: Sequence[Passage] = ()
) -> list[Group]:
    """The groups ordered by the fitted chance that each is the answer (the hand-set order without
    weights, the first then given chance 1).

    With weights, a group competes only if one of its articles holds as many of the question's names
    as the best of ``passages`` does (``names_held``), or one fewer when the question names
    ``NAMES_FOR_SLACK`` or more: a mayor named in another city's story is not this city's mayor,
    however well the sentence reads. When the question names the kind it asks for
    and a name of that kind is found, only such names compete."""
    if weights and passages:
        held: dict[int, float] = {}  # each passage's share, read once (groups share passages)

        def share(passage: Passage) -> float:
            if id(passage) not in held:
                held[id(passage)] = names_held(q, [passage])
            return held[id(passage)]

        most = max((share(p) for p in passages), default=0.0) if q.names else 1.0
        if len(q.names) >= NAMES_FOR_SLACK:
            most -= 1.0 / len(q.names) + 1e-9  # one incidental name ("TV", "F1") may be missing
        groups = [g for g in groups if max((share(s.sentence.passage) for s in g.spans), default=0.0) >= most]
    if not groups:
        return groups
    if not weights:
        for i, g in enumerate(groups):
            g.chance = 1.0 if i == 0 else 0.0
        return groups
    features = features_of(q, groups)
    if q.focus_kind and any(f["fit"] >= STRONG_FIT for f in features):
        # "Which weight-loss drug": once a name of that kind is found, names of other kinds (the
        # agency that approved it, however near the question's words) do not compete.
        kept = [(g, f) for g, f in zip(groups, features, strict=True) if f["fit"] >= STRONG_FIT]
        groups, features = [g for g, _ in kept], [f for _, f in kept]
    for g, chance in zip(groups, chances(weights, features), strict=True):
        g.chance = chance
    return sorted(groups, key=lambda g: g.chance, reverse=True)
