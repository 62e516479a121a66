"""What an answer shows: no heading marks, no datelines, exact offsets."""

from newsdesk.rag.answer.display import shown_span


def _shown(text: str) -> str:
    start, end = shown_span(text, 0, len(text))
    return text[start:end]


def test_markdown_heading_marks_are_not_shown() -> None:
    assert _shown("# Greenfield Energy opens solar farm") == "Greenfield Energy opens solar farm"
    assert _shown("### **Bold heading**") == "Bold heading"


def test_datelines_are_not_shown() -> None:
    assert _shown("RIVERTON, March 4, 2024 — The council voted 7-2.") == "The council voted 7-2."
    assert _shown("WASHINGTON (AP) — Lawmakers agreed.") == "Lawmakers agreed."
    assert _shown("ST. LOUIS, July 21, 2024 — Ethan won.") == "Ethan won."
    assert _shown("NASA said it would launch.") == "NASA said it would launch."


def test_shown_span_offsets_stay_exact() -> None:
    text = "intro\nRIVERTON, March 4, 2024 — The council voted."
    start, end = shown_span(text, 6, len(text))
    assert text[start:end] == "The council voted."
