"""Sentence boundaries: lines, then blingfire's sentences, with exact offsets; the reader's finer cut."""

from newsdesk.reading.sentences import reading_sentences, sentence_spans, starts_sentence


def pieces(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_sentences_are_lines_then_blingfire_sentences_with_exact_offsets() -> None:
    text = "Headline here\n\n  First sentence.  Second one!\nLast line"
    assert pieces(text, sentence_spans(text)) == [
        "Headline here",
        "First sentence.",
        "Second one!",
        "Last line",
    ]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Title line\n  First sentence here.  Second one, with Mr. Smith!\n\nThird?"
    assert pieces(text, sentence_spans(text)) == [
        "Title line",
        "First sentence here.",
        "Second one, with Mr. Smith!",
        "Third?",
    ]
    text = "The U.S. Navy sailed on Monday, Gen. Ward said."
    assert pieces(text, sentence_spans(text)) == [text]


def test_a_quote_stays_with_its_sentence() -> None:
    text = '"We will rebuild," the mayor said. "Not this year." Crews left.'
    assert pieces(text, sentence_spans(text)) == [
        '"We will rebuild," the mayor said.',
        '"Not this year."',
        "Crews left.",
    ]


def test_citation_markers_stay_with_the_sentence_they_close() -> None:
    text = "Paris is big. [1] It has a river [2]."
    assert pieces(text, sentence_spans(text)) == ["Paris is big. [1]", "It has a river [2]."]


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert sentence_spans("") == () and sentence_spans("  \n\n ") == ()


def test_the_reader_also_splits_where_blingfire_missed_a_boundary() -> None:
    text = "# Title line\nFirst sentence here. Second one follows.\n\nThe Purus Arch. Water flows east."
    found = pieces(text, reading_sentences(text))
    assert found[0] == "# Title line"
    assert "First sentence here." in found and "Second one follows." in found
    assert "The Purus Arch." in found and "Water flows east." in found
    # ... but never after an abbreviation.
    assert pieces("The U.S. Navy left.", reading_sentences("The U.S. Navy left.")) == ["The U.S. Navy left."]


def test_every_span_is_a_slice_of_the_text_trimmed_of_space() -> None:
    text = "  One.   Two!  \n\n Three? \n"
    for a, b in sentence_spans(text) + reading_sentences(text):
        assert text[a:b] == text[a:b].strip() and text[a:b]


def test_a_position_starts_a_sentence_after_a_stop_a_line_break_or_nothing() -> None:
    text = "Talks ended. Shoigu left.\nPutin stayed: Lavrov too"
    assert starts_sentence(text, 0) and starts_sentence(text, text.index("Shoigu"))
    assert starts_sentence(text, text.index("Putin"))
    assert not starts_sentence(text, text.index("left"))
    assert not starts_sentence(text, text.index("Lavrov"))
    assert starts_sentence(text, text.index("Lavrov"), after_colon=True)
