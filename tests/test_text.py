"""The shared text rules: stems, normalisation, sentence boundaries with exact offsets."""

from newsdesk.text import STOPWORDS, normalize, sentence_spans, stem, stems


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
