"""Retrieve step: a LangChain retriever over Newsdesk's Chroma index.

It returns LangChain ``Document`` objects whose metadata carries everything a citation needs
(article id, title, source, date, url, and the chunk's character offsets), plus ``score``: the
cosine similarity to the question. Any other retriever that fills the same metadata plugs in.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.embed import Embedder
from index.store import ChunkStore


class NewsRetriever(BaseRetriever):
    """Dense retrieval of the ``k`` best chunks.

    Args:
        store: the chunk index.
        embedder: must be the model the index was built with.
        k: passages returned. Default: 5.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChunkStore
    embedder: Embedder
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        vector = self.embedder.embed_query(query)
        hits = self.store.search(vector, k)
        return [
            Document(page_content=hit.text, id=hit.id, metadata={**hit.metadata, "score": hit.score})
            for hit in hits
        ]
