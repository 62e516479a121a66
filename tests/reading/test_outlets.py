"""Outlets: how names compare, what a text may call an outlet, and which outlets a text names."""

from newsdesk.reading.outlets import OutletMatcher, named_sources, outlet_key, outlet_names, source_mentions

SOURCES = ["TechCrunch", "The Verge", "The Age", "Cnbc | World Business News Leader", "Live Science: Latest"]


def test_names_compare_without_case_spacing_or_a_leading_the() -> None:
    assert outlet_key("  The   Verge ") == outlet_key("verge") == outlet_key("THE VERGE") == "verge"
    assert outlet_key("The") == "the"  # a name that is only "The" keeps it


def test_an_outlet_is_also_known_by_its_feed_titles_first_part_and_without_a_long_the() -> None:
    assert outlet_names("Cnbc | World Business News Leader") == {"Cnbc | World Business News Leader", "Cnbc"}
    assert outlet_names("Live Science: Latest") == {"Live Science: Latest", "Live Science"}
    assert outlet_names("The Verge") == {"The Verge", "Verge"}
    assert outlet_names("The Age") == {"The Age"}  # "age" is a word, not an outlet
    assert outlet_names("AP | x") == {"AP | x"}  # a first part under three characters is no name


def test_a_text_names_outlets_in_any_case_as_whole_words() -> None:
    question = "Does 'The Verge' agree with the techcrunch report and a CNBC piece?"
    assert named_sources(question, SOURCES) == [
        "The Verge",
        "TechCrunch",
        "Cnbc | World Business News Leader",
    ]
    assert named_sources("What did Verge say about Live Science?", SOURCES) == [
        "The Verge",
        "Live Science: Latest",
    ]
    assert named_sources("Was the TechCrunchy map right?", SOURCES) == []


def test_the_age_of_16_is_not_the_age() -> None:
    assert named_sources("Children start school at the age of 5.", SOURCES) == []
    assert named_sources("What did the Age say?", SOURCES) == ["The Age"]
    assert named_sources("What did THE AGE say?", SOURCES) == ["The Age"]


def test_every_mention_is_found_once_with_the_longest_name_at_its_place() -> None:
    matcher = OutletMatcher(SOURCES)
    text = "The Verge said X; TechCrunch said Y; later The Verge said Z."
    assert [(text[a:b], sorted(keys)) for a, b, keys in matcher.mentions(text)] == [
        ("The Verge", ["verge"]),
        ("TechCrunch", ["techcrunch"]),
        ("The Verge", ["verge"]),
    ]
    assert source_mentions(text, SOURCES) == [(0, "The Verge"), (18, "TechCrunch"), (43, "The Verge")]


def test_spellings_of_one_outlet_are_named_together() -> None:
    assert named_sources("according to TECHCRUNCH", ["techcrunch", "TechCrunch", "Wired"]) == [
        "TechCrunch",
        "techcrunch",
    ]
    assert source_mentions("according to TECHCRUNCH", ["techcrunch", "TechCrunch"]) == [(13, "TechCrunch")]


def test_no_outlets_name_nothing() -> None:
    assert named_sources("Anything at all", []) == [] and OutletMatcher([]).mentions("x") == []
