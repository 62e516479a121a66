"""Answer step (default, no LLM): an extractive reader whose first sentence states the answer.

The question is read (``question``), candidate sentences and typed spans are taken from the passages
and their headlines (``candidates``), scored with evidence pooled across articles (``spans``),
yes/no questions are checked claim by claim (``yesno``), a calibrated model decides whether the
evidence answers at all (``abstain``, weights in ``model.json``), and the answer is composed: the
direct answer first, then at most two supporting sentences, each cited (``compose``).
``answerer.ExtractiveAnswerer`` runs these steps.
"""

from newsdesk.rag.answer.answerer import ABSTAIN_MESSAGE, ExtractiveAnswerer

__all__ = ["ABSTAIN_MESSAGE", "ExtractiveAnswerer"]
