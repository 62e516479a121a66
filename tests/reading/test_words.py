"""Words: one tokeniser, one stemmer, and the stopword lists (what each is for, and what it keeps)."""

from newsdesk.reading.words import (
    PHRASE_EDGE_STOPWORDS,
    READING_STOPWORDS,
    STOPWORDS,
    share,
    stem,
    stems,
    token_spans,
    tokens,
    words,
)


def test_tokens_keep_inner_dots_apostrophes_hyphens_and_thousands() -> None:
    assert tokens("The U.S. paid $1,500 to O’Brien's pre-1875 firm.") == [
        "The", "U.S", "paid", "1,500", "to", "O’Brien's", "pre-1875", "firm",
    ]  # fmt: skip
    text = "Mr. Smith"
    assert [text[a:b] for a, b, _ in token_spans(text)] == ["Mr", "Smith"]


def test_hyphenated_words_also_give_their_parts() -> None:
    assert list(words("a pre-1875 map")) == ["a", "pre-1875", "pre", "1875", "map"]


def test_stems_join_word_forms_and_number_words() -> None:
    assert stem("Voted") == stem("votes")
    assert stem("three") == stem("3") and stem("third") == stem("3rd")
    assert stem("Google's") == stem("google")
    assert stem("1,000") == "1000"
    assert stem("Zürich") == stem("zurich")
    assert stems("Bankman-Fried") == {"bankm-fri", "bankm", "fri"}  # the whole and its parts


def test_one_stopword_list_of_function_words_for_search() -> None:
    assert {"the", "of", "who", "may"} <= STOPWORDS
    assert not {"bridge", "council", "million", "before", "most", "only"} & STOPWORDS


def test_the_reader_ignores_every_function_word_and_quantifier_too() -> None:
    assert STOPWORDS < READING_STOPWORDS
    assert {"before", "most", "only", "according", "many"} <= READING_STOPWORDS


def test_an_answer_phrase_keeps_a_month_and_an_approximation_at_its_edges() -> None:
    assert {"the", "of", "also", "here"} <= PHRASE_EDGE_STOPWORDS
    assert not {"may", "about"} & PHRASE_EDGE_STOPWORDS  # "May 5", "about 300"
    assert PHRASE_EDGE_STOPWORDS < READING_STOPWORDS


def test_share_is_the_weighted_part_of_the_terms_present() -> None:
    assert share({"googl": 2.0, "pay": 1.0}, {"googl"}) == 2 / 3
    assert share({}, {"googl"}) == 0.0
