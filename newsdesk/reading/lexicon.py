"""Word lists that tell names apart: titles, organisation words, words that are never a name.

The reader finds candidate names with them, the support checks widen a model's short answer to a
whole name with them, and the follow-up rewriter tells a person from an organisation with them.
Each list has one job, named below; calendar words (months, weekdays) are ``newsdesk.dates``'.
"""

from __future__ import annotations

import re

from newsdesk.dates import CALENDAR_WORDS

HONORIFICS = ("Mr", "Mrs", "Ms", "Dr", "Sir", "Dame", "Sen", "Rep", "Gov", "Prof")
"""Courtesy titles and abbreviated offices written before a person's name (a full stop may follow)."""

TITLES_BEFORE_NAME = (
    *HONORIFICS, "Judge", "President", "Vice President", "Prime Minister", "Minister", "Secretary",
    "CEO", "CFO", "COO", "CTO", "Chief Executive", "Chairman", "Chairwoman", "Coach", "Director",
    "Governor", "Senator", "Mayor", "Commissioner", "Chancellor", "King", "Queen", "Prince", "Princess",
    "Pope", "Lord", "Lady", "Captain", "Officer", "General", "Former", "Founder", "Co-founder",
)  # fmt: skip
"""Titles a name may open with ("President Joe Biden"): not part of the name itself."""

OFFICES_INSIDE_NAME = (
    "Secretary", "Minister", "President", "CEO", "Chairman", "Chairwoman", "Director", "Spokesperson",
    "Spokeswoman", "Spokesman", "Governor", "Senator", "Mayor", "Commissioner", "Chancellor",
    "Ambassador", "Coach", "General", "Chief",
)  # fmt: skip
"""Offices that, inside a run of capitalised words, end an organisation and start a person
("Russian Security Council Secretary Sergei Shoigu")."""

PERSON_CUES = (
    *HONORIFICS, "President", "Prime Minister", "Minister", "Secretary", "CEO", "chief executive",
    "Chief Executive", "founder", "co-founder", "chairman", "chairwoman", "coach", "manager", "director",
    "spokesperson", "spokesman", "spokeswoman", "star", "actor", "actress", "singer", "rapper", "player",
    "quarterback", "striker", "midfielder", "defender", "goalkeeper", "forward", "guard", "pitcher",
    "captain", "judge", "senator", "governor", "mayor", "lawyer", "attorney", "analyst", "economist",
    "professor", "author", "writer", "journalist", "reporter", "editor", "officer", "executive", "head",
    "leader", "boss", "winner", "champion", "prodigy", "investor", "entrepreneur", "billionaire",
    "engineer", "commissioner", "superintendent", "chief", "chair", "councillor", "councilor", "member",
    "members", "treasurer", "clerk", "inspector", "sheriff", "detective", "doctor", "nurse", "teacher",
    "principal", "student", "researcher", "scientist", "grandmaster", "master", "trainer", "driver",
    "pilot", "artist", "designer", "founder", "owner", "partner",
)  # fmt: skip
"""Words right before a name that make it a person's ("striker Harry Kane", "Mr Smith"); case as
written."""

OTHER_TITLES = ("Premier", "Deputy", "Head", "Leader", "Chair", "Editor", "Professor", "Foreign", "Council")
"""Titles, and words of titles ("Foreign Minister", "Security Council Secretary"), that are common
words or parts of organisations' names too: never cut from a candidate name by the reader."""

TITLE_WORDS = frozenset(
    word.lower()
    for title in TITLES_BEFORE_NAME + OFFICES_INSIDE_NAME + OTHER_TITLES
    for word in title.split()
)
"""Every word of a title, in lower case: a model's short answer never grows over one ("Foreign
Minister Wang Yi" stays "Wang Yi"), and one is no name of its own."""

ORGANISATION_WORDS = frozenset(
    """
    inc corp corporation co ltd llc plc group company companies energy bank university council association
    fc club party agency department ministry commission foundation institute airlines airways motors
    technologies technology labs media news times post journal research capital partners holdings
    securities ventures studios games entertainment records music network networks systems solutions
    sportsbook exchange court committee federation league union office board authority government
    service services school college hospital army navy police administration bureau fund trust
    """.split()
)
"""Last words that make a name an organisation's ("Greenfield Energy", "Apple Inc"), in lower case."""

NOT_NAME_WORDS = CALENDAR_WORDS | frozenset(
    """
    another however although during many most some such these this those its after before while when
    where there here today yesterday despite meanwhile according but and the a an in on at of for with
    as it he she they we i you his her their our my your if yes no also still yet so then now though
    even just only last next first second new more mr mrs ms dr sen rep gov prof st mt
    """.split()
)
"""Capitalised words that are no name on their own, in lower case: months and weekdays, sentence
openers, pronouns and abbreviated titles."""


def _alternatives(words: tuple[str, ...]) -> str:
    """A regex alternation of ``words`` in their order, a multi-word title matching any spacing."""
    return "|".join(r"\s+".join(re.escape(part) for part in word.split()) for word in words)


TITLE_BEFORE_NAME = re.compile(rf"(?:(?:{_alternatives(TITLES_BEFORE_NAME)})\.?\s+)+(?=[A-Z])")
"""Titles at the start of a capitalised run, to be cut from the name."""
OFFICE_INSIDE_NAME = re.compile(rf"\s(?:{_alternatives(OFFICES_INSIDE_NAME)})\.?\s+(?=[A-Z][a-z])")
"""An office inside a capitalised run, where an organisation ends and a person's name begins."""
PERSON_CUE = re.compile(rf"(?:\b(?:{_alternatives(PERSON_CUES)})\.?\s+)$")
"""A person cue at the end of the text before a name."""

NATIONAL_SCOPE = re.compile(
    r"\b(?:U\.S\.A?\.?|U\.S\.|USA?|United States(?:\s+of\s+America)?|Americans?|America|"
    r"U\.K\.|UK|United Kingdom|Britain|British)(?![\w.])"
)
"""Names of the nation a story is set in ("US households", "American grocery stores", "the UK's
agency"): a national outlet's article seldom repeats them ("the country's", "nationwide"), so a
question naming one is not asking about a name the evidence must hold."""
