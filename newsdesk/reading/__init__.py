"""How Newsdesk reads text and questions: one definition of each reading rule.

Retrieval hints, the extractive reader, the language model's support checks and the follow-up
rewriter all call these, so a fix to how a question or an article is read lands everywhere at once:

- ``words``: word tokens, stems and the stopword lists;
- ``sentences``: sentence boundaries with exact offsets;
- ``markers``: citation markers ``[n]``, as Newsdesk writes them and as models write them;
- ``outlets``: the names an outlet goes by, and which outlets a text names;
- ``question_dates``: the days and periods a question names ("on 2023-11-24", "last week");
- ``lexicon``: word lists of names (titles, calendar words, organisation words).

Pure and fast: regular expressions, a crude stemmer and blingfire boundaries; no model.
"""
