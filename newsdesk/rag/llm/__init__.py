"""Generated answers (optional): a language model writes the answer, Newsdesk checks every sentence.

One job per module: ``backends`` (settings -> a LangChain chat model; the in-process SmolLM2 server),
``prompt`` (passages fenced as data), ``words`` (how the checks read words), ``support`` (does a span
say what a sentence claims), ``citations`` (the citation processor), ``stream`` (marker-safe
streaming), ``generate`` (``GenerativeAnswerer``), ``followup`` (follow-ups rewritten to stand
alone), ``conversation`` (rewrite, retrieve, answer or stream, reconcile: one turn).
"""
