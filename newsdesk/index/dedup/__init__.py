"""Near-duplicate articles: the same wire story from several outlets is indexed once.

An article's body becomes a set of word 5-shingles; a MinHash signature (datasketch, 128
permutations) estimates the Jaccard similarity of two such sets, and an LSH index over the kept
articles finds the candidates at a threshold of 0.8 without comparing every pair. An article whose
estimated similarity to a kept article reaches the threshold is a duplicate: it is not indexed as
chunks of its own; the kept article's chunks list it in their ``also_in`` metadata instead, so a
citation can name every outlet that carried the story.

Signatures are kept in ``dedup.sqlite`` in the index folder (one file per collection), or with a
Chroma server in a side collection on the server (``<collection>-dedup``), so that indexing jobs on
every machine check against the same records. They are keyed by article id with the content hash
they were computed from, so an article arriving tomorrow is checked
against everything indexed today, and an unchanged article is never hashed again. The LSH is rebuilt
from the stored signatures at the start of a run (signatures only, no text). Changes are staged in
memory and written once per batch, after the chunks they describe are in the store, so
a run interrupted at any moment leaves records that the next run either trusts or recomputes.
"""

from newsdesk.index.dedup.index import DedupIndex
from newsdesk.index.dedup.records import (
    DEDUP_FILE,
    DedupRecord,
    DedupRecords,
    ServerRecords,
    SqliteRecords,
    dedup_file_name,
    record_for,
)
from newsdesk.index.dedup.signature import (
    MIN_WORDS,
    NUM_PERM,
    SHINGLE_WORDS,
    THRESHOLD,
    signature,
    similarity,
)

__all__ = [
    "DEDUP_FILE",
    "MIN_WORDS",
    "NUM_PERM",
    "SHINGLE_WORDS",
    "THRESHOLD",
    "DedupIndex",
    "DedupRecord",
    "DedupRecords",
    "ServerRecords",
    "SqliteRecords",
    "dedup_file_name",
    "record_for",
    "signature",
    "similarity",
]
