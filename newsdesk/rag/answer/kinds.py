"""What kind of name a "which X" question asks for, and which named entities are of that kind.

The question's focus ("which *burger chain*", "what *country*", "which *show*") fixes the answer's kind
(TREC-era factoid QA; Li & Roth 2002): its head noun is looked up in ``HEAD_KINDS``. Named entities
(spaCy's OntoNotes labels, ``index/entities.py``) map onto the same kinds (``LABEL_KINDS``), so a
candidate answer fits a question when its kind is the asked one. A place question narrows further by
the gazetteers below: a country, a U.S. state, or a city (a place that is neither), since the small
NER model labels all three GPE.

A head noun the lexicon does not know ("which *breed*", "which *insect*") asks for "a name of that
kind": any entity may answer, and one the articles themselves call so ("the breed, NAME", "NAME, a
breed", "breeds such as NAME") fits best (``candidates.described_as``).
"""

from __future__ import annotations

import re

from newsdesk.reading.lexicon import NATIONAL_SCOPE
from newsdesk.reading.words import READING_STOPWORDS, stem, token_spans

LABEL_KINDS = {
    "PERSON": "person",
    "ORG": "org",
    "GPE": "place",
    "LOC": "place",
    "FAC": "facility",
    "NORP": "group",
    "PRODUCT": "product",
    "EVENT": "event",
    "WORK_OF_ART": "work",
    "LAW": "law",
    "LANGUAGE": "language",
}
"""spaCy's labels as the reader's span kinds."""

ENTITY_KINDS = frozenset(LABEL_KINDS.values())

_HEADS = {
    "person": """
        person individual man woman people player ceo chief executive founder cofounder co-founder leader
        president minister official author writer actor actress singer artist musician coach manager
        director scientist politician judge justice senator governor mayor king queen emperor pope
        athlete quarterback winner champion chairman chairwoman spokesperson spokesman spokeswoman
        prosecutor lawyer attorney star head owner investor entrepreneur character figure composer
        architect inventor explorer general comedian rapper member host anchor celebrity billionaire
        journalist astronaut candidate nominee pitcher golfer swimmer gymnast skater runner boxer
        wrestler driver rider cyclist tennis-player striker goalkeeper footballer cricketer designer
        chef activist lawmaker congressman congresswoman representative speaker secretary ambassador
        commissioner sheriff officer soldier general admiral pilot teacher professor student doctor
        physician nurse economist analyst researcher historian poet novelist playwright filmmaker
        producer songwriter guitarist drummer pianist dancer model influencer youtuber streamer
        podcaster broadcaster commentator reporter editor publisher photographer painter sculptor
        heir heiress prince princess duke duchess monarch dictator prime-minister premier chancellor
        incumbent challenger defendant suspect victim survivor hero legend icon mogul tycoon magnate
        whistleblower hostage prisoner inmate detainee climber hiker skier surfer jockey trainer
        coach boss successor predecessor son daughter wife husband father mother brother sister
        child baby grandson granddaughter superstar personality rival ally veteran detective
        frontman frontwoman
    """,
    "org": """
        company firm organization organisation team club outlet network brand university party agency
        band newspaper magazine platform exchange startup start-up business corporation bank group
        studio publisher retailer airline carrier manufacturer developer league institution government
        department ministry service website site channel label school college court committee council
        sportsbook operator chain automaker carmaker maker giant restaurant eatery franchise
        conglomerate supermarket grocer grocery store shop union charity nonprofit non-profit foundation
        institute hospital church denomination broadcaster streamer streaming-service insurer lender
        utility railroad railway cruise-line hotel resort casino fund regulator watchdog militia army
        navy military force agency bureau administration commission board senate house parliament
        legislature congress industry sector labor-union automaker companies firms teams chains brands
        airlines retailers banks schools universities colleges restaurants networks outlets
        supplier distributor producer brewery winery bakery coffee-chain fast-food
    """,
    "place": """
        country countries nation nations state states city cities town towns village region regions
        place places continent province county location island islands capital territory area district
        neighborhood neighbourhood coast peninsula archipelago municipality borough suburb
        destination
    """,
    "facility": """
        venue stadium arena building airport bridge museum landmark monument park tower prison
        theater theatre cathedral temple palace castle embassy base station port harbor harbour
        highway road street zoo aquarium gallery library mall
    """,
    "geo": """
        mountain mountains river rivers lake lakes ocean oceans sea seas volcano volcanoes desert
        forest glacier canyon valley bay gulf strait beach
    """,
    "work": """
        show shows series film films movie movies book books novel novels song songs album albums
        painting paintings artwork artworks sculpture play musical podcast documentary sitcom drama
        poem opera title single hit track episode memoir comic comics manga anime franchise
        soundtrack masterpiece portrait mural exhibit exhibition musical-number ballet cartoon
        program programme newsletter story stories video videos comedy comedies sitcoms
    """,
    "product": """
        product products device devices phone phones smartphone smartphones car cars vehicle vehicles
        model models drug drugs vaccine vaccines medication medicine pill treatment app apps software
        chatbot console truck trucks aircraft plane planes jet jets toy toys drink drinks beverage
        beverages snack snacks cereal candy gadget headset computer laptop tablet chip chips robot
        rocket spacecraft satellite ship ships weapon weapons missile missiles game games videogame cookie
        sandwich burger soda beer wine whisky whiskey perfume shoe shoes sneaker sneakers
        cryptocurrency currency coin token feature tool
    """,
    "event": """
        event events festival festivals tournament tournaments championship championships race races
        award awards holiday holidays storm storms hurricane hurricanes war wars battle battles
        competition competitions election elections summit summits conference conferences ceremony
        contest contests game-show pageant marathon olympics cup bowl parade protest protests
        strike strikes scandal crisis
    """,
    "law": "law laws bill bills act acts amendment amendments treaty treaties policy policies ruling",
    "language": "language languages dialect",
    "group": "nationality ethnicity religion tribe",
}
HEAD_KINDS: dict[str, str] = {word: kind for kind, text in _HEADS.items() for word in text.split()}
"""Head noun of a "which X" phrase -> the kind of name it asks for."""

KIND_FIT: dict[str, dict[str, float]] = {
    "person": {"person": 1.0, "name": 0.6, "opener": 0.4, "org": 0.2, "group": 0.1},
    "org": {"org": 1.0, "name": 0.75, "product": 0.5, "facility": 0.5, "work": 0.3, "place": 0.3,
            "person": 0.25, "opener": 0.4},
    "place": {"place": 1.0, "facility": 0.5, "name": 0.6, "org": 0.3, "group": 0.2, "person": 0.1,
              "opener": 0.35},
    "facility": {"facility": 1.0, "org": 0.7, "place": 0.6, "name": 0.7, "opener": 0.4},
    "geo": {"place": 1.0, "facility": 0.6, "name": 0.7, "opener": 0.4},
    "work": {"work": 1.0, "quoted": 1.0, "name": 0.7, "product": 0.5, "org": 0.45, "event": 0.4,
             "person": 0.3, "opener": 0.4},
    "product": {"product": 1.0, "quoted": 0.5, "org": 0.6, "name": 0.7, "work": 0.5, "opener": 0.4},
    "event": {"event": 1.0, "quoted": 0.4, "name": 0.6, "work": 0.4, "org": 0.3, "facility": 0.2,
              "place": 0.2, "opener": 0.35},
    "law": {"law": 1.0, "name": 0.6, "work": 0.4, "org": 0.2, "event": 0.2},
    "language": {"language": 1.0, "group": 0.6, "name": 0.5},
    "group": {"group": 1.0, "org": 0.5, "name": 0.5},
    "name": {"name": 0.9, "person": 0.85, "org": 0.9, "place": 0.85, "facility": 0.85, "product": 0.9,
             "work": 0.9, "event": 0.9, "law": 0.85, "group": 0.6, "language": 0.6, "opener": 0.5,
             "quoted": 0.6},
}  # fmt: skip
"""How well a span kind answers a question's kind (1 = exactly what was asked)."""

COUNTRIES = frozenset(
    """
    afghanistan albania algeria andorra angola antigua argentina armenia australia austria azerbaijan
    bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana
    brazil brunei bulgaria burkina-faso burundi cambodia cameroon canada cape-verde chad chile china
    colombia comoros congo costa-rica croatia cuba cyprus czech-republic czechia denmark djibouti
    dominica dominican-republic ecuador egypt el-salvador equatorial-guinea eritrea estonia eswatini
    ethiopia fiji finland france gabon gambia georgia germany ghana greece grenada guatemala guinea
    guyana haiti honduras hungary iceland india indonesia iran iraq ireland israel italy ivory-coast
    jamaica japan jordan kazakhstan kenya kiribati kosovo kuwait kyrgyzstan laos latvia lebanon lesotho
    liberia libya liechtenstein lithuania luxembourg madagascar malawi malaysia maldives mali malta
    mauritania mauritius mexico micronesia moldova monaco mongolia montenegro morocco mozambique
    myanmar burma namibia nauru nepal netherlands holland new-zealand nicaragua niger nigeria
    north-korea north-macedonia norway oman pakistan palau palestine panama papua-new-guinea paraguay
    peru philippines poland portugal qatar romania russia rwanda samoa san-marino saudi-arabia senegal
    serbia seychelles sierra-leone singapore slovakia slovenia solomon-islands somalia south-africa
    south-korea korea south-sudan spain sri-lanka sudan suriname sweden switzerland syria taiwan
    tajikistan tanzania thailand togo tonga trinidad tunisia turkey turkiye turkmenistan tuvalu uganda
    ukraine united-arab-emirates uae united-kingdom uk u.k britain great-britain england scotland wales
    northern-ireland united-states us u.s usa america uruguay uzbekistan vanuatu vatican venezuela
    vietnam yemen zambia zimbabwe greenland hong-kong
    """.split()
)
"""Countries (and a few places news treats as such), lower case, spaces as hyphens."""

US_STATES = frozenset(
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
    idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan
    minnesota mississippi missouri montana nebraska nevada new-hampshire new-jersey new-mexico new-york
    north-carolina north-dakota ohio oklahoma oregon pennsylvania rhode-island south-carolina
    south-dakota tennessee texas utah vermont virginia washington west-virginia wisconsin wyoming
    """.split()
)
"""The fifty U.S. states, lower case, spaces as hyphens."""

PLACE_FOCUS = {
    "country": "country", "countries": "country", "nation": "country", "nations": "country",
    "state": "state", "states": "state",
    "city": "city", "cities": "city", "town": "city", "towns": "city", "village": "city",
    "capital": "city", "municipality": "city", "borough": "city", "suburb": "city",
}  # fmt: skip
"""Place heads narrowed by the gazetteers (see ``place_fit``)."""


def gazetteer_key(text: str) -> str:
    """A place name as the gazetteers spell it: lower case, a leading "the" dropped, hyphens for spaces."""
    key = re.sub(r"(?:['’]s?)?\.?$", "", text.strip().lower())  # a possessive, not any final "s": Texas
    key = re.sub(r"^the\s+", "", key)
    return re.sub(r"\s+", "-", key)


def place_fit(focus: str, text: str) -> float | None:
    """How well a place named ``text`` answers a place question whose head is ``focus``: 1 for a
    country asked as a country (a U.S. state as a state; a city: neither), a small share otherwise;
    None when the head is not narrowed. The nation a story is set in (``lexicon.NATIONAL_SCOPE``: "the
    U.S.", "Britain") fits "which country" as a city does: news asks it of another country."""
    narrow = PLACE_FOCUS.get(focus)
    if narrow is None:
        return None
    key = gazetteer_key(text)
    is_country, is_state = key in COUNTRIES, key in US_STATES
    if narrow == "country" and NATIONAL_SCOPE.fullmatch(
        re.sub(r"^the\s+|['’]s?$", "", text.strip(), flags=re.I)
    ):
        return 0.35  # as any place that is no country
    if narrow == "country":
        return 1.0 if is_country else 0.35
    if narrow == "state":
        # "which state" in U.S. news is a U.S. state; Georgia and Washington are both.
        return 1.0 if is_state else (0.3 if not is_country else 0.2)
    return 0.3 if (is_country or is_state) else 1.0


PLACE_NAMED_HEADS = frozenset("team teams club side squad school college".split())
"""Heads of organisations news names by their place: "Argentina won the Copa América", "Michigan beat
Washington" (the team, the school)."""


def answered_by_place(question: str) -> bool:
    """A place name answers this organisation question: its head is named by place ("which soccer
    team", "which school") or a place word opens the wh-phrase ("which *state* Supreme Court", "which
    *state* Senate": the question asks which state's)."""
    head, kind = focus_kind(question)
    if kind != "org":
        return False
    phrase = [w.lower() for w in focus_words(question)]
    return head in PLACE_NAMED_HEADS or (len(phrase) > 1 and phrase[0] in PLACE_FOCUS)


_STOP_AFTER_WH = frozenset(
    """
    is was are were be been being do does did has have had will would can could should may might must
    of in on at to for from by with as about into over after before during than that who whom which
    whose where when while what why how the a an this these those its his her their our your my and or
    but not no if so
    """.split()
)
_IRREGULAR_VERBS = frozenset(
    """
    won lost became made said took gave ran broke hit set led left saw sold bought told began came went
    wrote got held kept found beat chose drew fell grew knew rose shut spent stood struck swept threw
    wore paid sent built brought cut put quit let meant met read spoke stole sang sank shot slid spun
    tore won woke bid bore forgave fled flew froze hid hung laid lent lit overtook rode rang sought
    shook shone slept split spread sprang stuck stung swore swam swung taught thought understood upset
    withdrew wound wins loses becomes makes says takes gives runs breaks hits sets leads leaves sees
    sells buys tells begins comes goes writes gets holds keeps finds beats chooses plans plans wants
    announces announced agrees needs faces hopes aims seeks uses owns faced
    """.split()
)


def _verb_like(word: str) -> bool:
    low = word.lower()
    if low in _IRREGULAR_VERBS:
        return True
    return low.endswith("ed") and len(low) > 4 and low not in {"breed", "seed", "speed", "feed", "bed"}


def _ends_phrase(token: str) -> bool:
    return token.lower().strip(".") in _STOP_AFTER_WH or _verb_like(token)


def wh_phrase(question: str) -> tuple[list[str], bool]:
    """The words of the wh-phrase after the first "which"/"what" ("which *burger chain* has ..."), after
    "name of" or "one of the", and whether a description is asked ("what *type of* bug": True).

    The phrase ends at a verb, an auxiliary, a preposition or a function word; an adverb ends it once a
    noun is read ("which phenomenon recently caused"), and opens it before a participle ("which
    sexually transmitted disease")."""
    m = re.search(r"\bname\s+of\s+(?:the\s+|a\s+|an\s+|this\s+|that\s+)?(.*)", question, re.I)
    m = m or re.search(r"\b(?:which|what)\s+(.*)", question, re.I)
    if not m:
        return [], False
    rest = m.group(1)
    described = re.match(r"(?:type|kind|sort|form)s?\s+of\s+(?:an?\s+)?", rest, re.I)
    if described:
        rest = rest[described.end() :]
    rest = re.sub(r"^(?:one|brand)s?\s+of\s+(?:the\s+|a\s+|an\s+)?", "", rest, flags=re.I)
    found: list[str] = []
    tokens = re.findall(r"[A-Za-z][\w.&'’-]*|\d+", rest)
    for i, token in enumerate(tokens):
        low = token.lower().strip(".")
        joins = low in ("and", "&") and found and i + 1 < len(tokens) and not _ends_phrase(tokens[i + 1])
        if joins:
            continue  # "which music and arts festival": the phrase goes on to its head
        modifier = bool(found) and found[-1].lower().endswith("ly") and len(found) == 1
        if low in _STOP_AFTER_WH or (_verb_like(token) and not modifier):
            break
        if found and low.endswith("ly") and i + 1 < len(tokens) and _verb_like(tokens[i + 1]):
            break  # "which phenomenon recently caused ..."
        possessive = re.search(r"['’]s?$", token)
        word = token[: possessive.start()] if possessive else token
        found.append(word)
        if (possessive and word.lower() in HEAD_KINDS) or len(found) == 5:
            break  # "which country's president": the country is asked for ("women's" only describes)
    return found, bool(described)


AUXILIARIES = frozenset(
    "is are was were be been being has have had will would did does do can could may might should".split()
)
"""Verbs a question puts beside its wh-phrase that the sentence it paraphrases often words otherwise
("which insect *has been* added" / "scientists added the monarch butterfly")."""


def wh_frame(question: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The stems before and after the question's "which/what" phrase: the frame a news sentence often
    repeats around the answer ("a pod of [which species] washed ashore" / "a pod of pilot whales washed
    ashore"); None when the question has no such phrase. "Which of the following" and "what type of"
    belong to the phrase; auxiliaries at the start of the words after it are left out."""
    found = token_spans(question)
    low = [t.lower() for _, _, t in found]
    # "In what is believed to be ..., a pod of which species": "which" asks, when there is one.
    at = next((i for i, t in enumerate(low) if t == "which"), None)
    at = next((i for i, t in enumerate(low) if t == "what"), None) if at is None else at
    if at is None:
        return None
    end = at + 1
    if low[end : end + 3] == ["of", "the", "following"]:
        end += 3
    if (
        low[end : end + 2]
        and low[end] in ("type", "types", "kind", "kinds", "sort", "form")
        and low[end + 1 : end + 2] == ["of"]
    ):
        end += 2
    phrase = {w.lower() for w in wh_phrase(question[found[at][0] :])[0]}
    while end < len(low) and low[end].strip("’'s") in {w.strip("’'s") for w in phrase}:
        end += 1
    while end < len(low) and low[end] in AUXILIARIES:
        end += 1
    return tuple(stem(t) for t in low[:at]), tuple(stem(t) for t in low[end:])


def focus_words(question: str) -> list[str]:
    """The words of the question's wh-phrase (``wh_phrase``)."""
    return wh_phrase(question)[0]


def focus_kind(question: str) -> tuple[str, str]:
    """(head noun, kind) of the question's wh-phrase: ("chain", "org") for "Which burger chain ...";
    the kind is "" when the head is unknown (then any name may answer, see the module's docstring)."""
    phrase, described = wh_phrase(question)
    if not phrase:
        return "", ""
    if described:  # "what kind of state": a description is asked for, not a name
        head = phrase[-1].lower().strip(".’'")
        return ("" if head in READING_STOPWORDS else head), ""
    lowered = [w.lower().strip(".’'") for w in phrase]
    # The head is the last word, unless that is a present-tense verb after a known noun
    # ("which company plans ...").
    for i in range(len(lowered) - 1, -1, -1):
        word = lowered[i]
        if word in HEAD_KINDS:
            return word, HEAD_KINDS[word]
        singular = word[:-1] if word.endswith("s") else word
        if singular in HEAD_KINDS:
            return singular, HEAD_KINDS[singular]
        last = word.rsplit("-", 1)[-1]
        if "-" in word and last in HEAD_KINDS:
            return last, HEAD_KINDS[last]  # "footballer-turned-manager" is a manager
    common = [w for w, original in zip(lowered, phrase, strict=True) if not original[0].isupper()]
    return next((w for w in reversed(common) if w not in READING_STOPWORDS), ""), ""
