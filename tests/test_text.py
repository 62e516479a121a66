"""The shared text rules: stems, normalisation, sentence boundaries with exact offsets."""

from newsdesk.text import (
    STOPWORDS,
    first_unicode_problem,
    normalize,
    printable,
    sentence_spans,
    stem,
    stems,
    unicode_problem,
)


def test_stems_and_normalize() -> None:
    assert stem("Voted") == stem("votes")
    assert stem("three") == stem("3")
    assert "bankm-fried" in stems("Bankman-Fried") or "bankm" in stems("Bankman-Fried")
    assert normalize("The U.S.  Junior") == "the us junior"


def test_sentences_are_lines_then_blingfire_sentences_with_exact_offsets() -> None:
    text = "Headline here\n\n  First sentence.  Second one!\nLast line"
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    assert pieces == ["Headline here", "First sentence.", "Second one!", "Last line"]


def test_one_stopword_list_of_function_words() -> None:
    assert {"the", "of", "who", "may"} <= STOPWORDS
    assert not {"bridge", "council", "million"} & STOPWORDS


def test_text_that_is_not_valid_unicode_is_named_with_where_and_why() -> None:
    assert unicode_problem("Zürich café, 東京 🙂") is None
    assert unicode_problem("who is \ud800?", "the question") == (
        "the question is not valid text: a lone surrogate (U+D800) at character 8"
    )
    assert unicode_problem("who is \udcff Chloe?", "the question") == (
        "the question is not valid text: the byte 0xFF at character 8 is not UTF-8"
    )
    nested = [{"role": "user", "content": "fine"}, {"role": "assistant", "content": "bad \udfff"}]
    assert "U+DFFF" in str(first_unicode_problem(nested, "the history"))
    assert first_unicode_problem({"a": ["b", None, 3]}, "x") is None
    assert printable("a\ud800b") == "a\ufffdb" and printable("café") == "café"
