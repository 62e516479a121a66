"""Five hand-made prediction records over three tiny articles; the tests work their metrics out by hand."""

from __future__ import annotations

from newsdesk.eval.records import PredictionRecord

A, B, C = "https://news.example/a", "https://news.example/b", "https://news.example/c"
TEXTS = {
    A: "Café Müller opened in 1999. It serves coffee.",  # [0:27] first sentence, [12:26] "opened in 1999"
    B: "The bridge is 300 m long.",  # [0:25] whole text
    C: "Nothing here.",  # [0:13] whole text; [0:8] is "Nothing " (with the space)
}


def cite(url: str, quote: str, start: int, end: int) -> dict[str, object]:
    return {"url": url, "quote": quote, "start": start, "end": end}


def make_records() -> list[PredictionRecord]:
    """Five questions; expected numbers are worked out by hand in the tests below."""
    return [
        # q1: answerable, right answer (accents/punctuation/spaces differ), gold A at rank 1.
        PredictionRecord(
            id="q1",
            question="Which café opened in 1999?",
            type="inference_query",
            answerable=True,
            gold_urls=[A],
            answers=["Café Müller"],
            answer="It is the  CAFE Müller, in Paris [1].",
            abstained=False,
            retrieved_urls=[A, B, C],
            cited_urls=[A],
            citations=[cite(A, "Café Müller opened in 1999.", 0, 27)],
            timings_ms={"retrieve": 4.0, "answer": 6.0, "total": 10.0},
        ),
        # q2: answerable, wrong answer ("300m" does not contain "300 m"); gold B at rank 3, A at rank 6;
        # cites C only (not gold); one verbatim citation, one not ("Nothing" != "Nothing ").
        PredictionRecord(
            id="q2",
            question="How long is the bridge?",
            type="comparison_query",
            answerable=True,
            gold_urls=[A, B],
            answers=["300 m"],
            answer="The bridge is 300m long [1].",
            abstained=False,
            retrieved_urls=[C, "x1", B, "x2", "x3", A],
            cited_urls=[C],
            citations=[cite(C, "Nothing here.", 0, 13), cite(C, "Nothing", 0, 8)],
            timings_ms={"total": 20.0},
        ),
        # q3: answerable but abstained: wrong even though the text says "bridge"; gold B not retrieved.
        PredictionRecord(
            id="q3",
            question="What is 300 m long?",
            type="comparison_query",
            answerable=True,
            gold_urls=[B],
            answers=["bridge"],
            answer="Nothing about the bridge.",
            abstained=True,
            retrieved_urls=[A],
            cited_urls=[],
            citations=[],
            timings_ms={"total": 30.0},
        ),
        # q4: unanswerable, abstained (true positive).
        PredictionRecord(
            id="q4",
            question="Who owns the bridge?",
            type="null_query",
            answerable=False,
            gold_urls=[],
            answers=["Insufficient information."],
            answer="The indexed articles do not answer this question.",
            abstained=True,
            retrieved_urls=[C],
            cited_urls=[],
            citations=[],
            timings_ms={"total": 40.0},
        ),
        # q5: unanswerable, answered anyway (false negative) with one verbatim citation.
        PredictionRecord(
            id="q5",
            question="When did the bridge open?",
            type="null_query",
            answerable=False,
            gold_urls=[],
            answers=["Insufficient information."],
            answer="It opened in 1999 [1].",
            abstained=False,
            retrieved_urls=[A, B],
            cited_urls=[A],
            citations=[cite(A, "opened in 1999", 12, 26)],
            timings_ms={"total": 100.0},
        ),
    ]
