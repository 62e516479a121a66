"""The shared text rules: normalisation, and valid Unicode at every edge."""

from newsdesk.text import first_unicode_problem, fold, normalize, printable, unicode_problem


def test_normalize_lowers_folds_accents_and_drops_or_spaces_punctuation() -> None:
    assert normalize("The U.S.  Junior") == "the us junior"
    assert normalize("Australia’s café", " ") == "australia s cafe"
    assert fold("Zürich") == "Zurich"


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
