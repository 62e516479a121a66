"""Citation markers: Newsdesk's ``[n]``, the forms models write, and what each helper reads of them."""

from newsdesk.reading.markers import (
    ESCAPED_MARKER,
    LEFTOVER_BRACKETS,
    MARKER,
    MODEL_MARKERS,
    OPEN_MODEL_MARKERS,
    has_marker,
    last_marker,
    marker_numbers,
    markers_before_stops,
    markers_in,
    sentences_with_markers,
    strip_markers,
)


def test_a_marker_is_a_number_in_square_brackets() -> None:
    assert markers_in("Paris is big. [2] It has a river. [1] [2]") == [2, 1, 2]
    assert has_marker("as cited [12]") and not has_marker("the [sic] text") and not has_marker("[a]")
    assert MARKER.fullmatch("[7]") and not MARKER.fullmatch("[1, 2]")


def test_stripping_takes_the_space_before_each_marker() -> None:
    assert strip_markers("Paris is big. [1] It has a river [2].") == "Paris is big. It has a river."
    assert strip_markers("No markers here.") == "No markers here."


def test_the_marker_that_ends_a_text() -> None:
    assert last_marker("Paris. [3] ") == 3
    assert last_marker("Paris [3] is big.") is None and last_marker("") is None


def test_each_sentence_of_an_answer_comes_with_the_markers_that_close_it() -> None:
    assert sentences_with_markers("Shoigu. [1] He visits Zhuhai. [2] [3] Trailing text") == [
        ("Shoigu.", [1]),
        ("He visits Zhuhai.", [2, 3]),
    ]
    assert sentences_with_markers("No citation at all.") == []


def test_models_write_markers_in_several_forms() -> None:
    forms = [("[1]", [1]), ("[1, 3]", [1, 3]), ("[1;3]", [1, 3]), ("【2】", [2]), ("[ 4 ]", [4])]
    for written, numbers in forms:
        match = MODEL_MARKERS.fullmatch(" " + written)
        assert match and marker_numbers(match.group(1)) == numbers, written
    assert not MODEL_MARKERS.match("[sic]") and not MODEL_MARKERS.match("[]")


def test_a_model_marker_not_yet_closed_is_recognised_at_the_end_of_streamed_text() -> None:
    for tail in ("[", "[1", "[1, 2", "【3"):
        assert OPEN_MODEL_MARKERS.match(tail), tail
    assert not OPEN_MODEL_MARKERS.match("[s") and not OPEN_MODEL_MARKERS.match("[1] and")


def test_markers_move_before_the_full_stop_they_follow() -> None:
    assert markers_before_stops("Paris. [1] It is big! [2][3]") == "Paris [1]. It is big [2][3]!"


def test_brackets_left_holding_no_marker_and_escaped_markers() -> None:
    assert LEFTOVER_BRACKETS.sub("", "text [] and [ , ] end") == "text  and  end"
    assert ESCAPED_MARKER.sub(r"[\1]", r"Paris is big. \[1\]") == "Paris is big. [1]"
