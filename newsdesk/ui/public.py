"""What visitors of the app see of an answer: no path of the server's file system.

An article indexed from a file is known by its canonical path (``file:///srv/news/feed.jsonl#12``),
which the command line shows in full (``ask --json``: the user's own machine). The app shows its
visitors the file's name instead (``feed.jsonl#12``); an article's own web link (``https://...``) is
kept as it is. ``NEWSDESK_SHOW_PATHS=true`` lets the app show the full links.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePosixPath
from urllib.parse import unquote

from newsdesk.rag.types import Answer, Citation

# A file link as the indexer writes it: an article id (file://PATH[#LINE]) or its URI (percent-encoded).
_FILE_LINK = re.compile(r"file://(?P<path>/.*?)(?P<line>#\d+)?")


def public_link(link: str) -> str:
    """``link`` as a visitor may see it: a ``file://`` link becomes the file's name (and JSONL line);
    any other link is left as it is."""
    match = _FILE_LINK.fullmatch(link)
    if match is None:
        return link
    return PurePosixPath(unquote(match["path"])).name + (match["line"] or "")


def public_citation(citation: Citation) -> Citation:
    """The citation with its article's links (and those of its near-duplicates) made public."""
    also_in = [
        {key: public_link(value) if key in ("url", "article_id") else value for key, value in other.items()}
        for other in citation.also_in
    ]
    return dataclasses.replace(
        citation, url=public_link(citation.url), article_id=public_link(citation.article_id), also_in=also_in
    )


def public_answer(answer: Answer) -> Answer:
    """The answer with every citation made public (the answer text holds no links)."""
    return dataclasses.replace(answer, citations=[public_citation(c) for c in answer.citations])
