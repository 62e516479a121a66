"""``GET /api/articles`` (the indexed articles, paged and filtered) and ``GET /api/articles/{id}`` (one
article's text and metadata), behind the app's login, with their response schemas in OpenAPI.

A file-indexed article's link is a path on the server: it is never sent (``url`` is empty then), and its
id is shown as the file's name (``Catalog``) unless ``NEWSDESK_SHOW_PATHS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from newsdesk.ui.library import MAX_SHOWN_CHARS, ArticleFilter, Catalog, Listed, public_url

MAX_PER_PAGE = 100


class ArticleSummary(BaseModel):
    """One indexed article in the list."""

    id: str
    title: str
    source: str
    published: str
    """YYYY-MM-DD, or empty when unknown."""
    url: str
    """The article's http(s) link; empty for a file-indexed article."""
    chunks: int
    also_in: list[str]
    """Other outlets that ran the same story (stored once)."""

    @classmethod
    def of(cls, article: Listed) -> ArticleSummary:
        return cls(
            id=article.id,
            title=article.title,
            source=article.source,
            published=article.published,
            url=article.url,
            chunks=article.chunks,
            also_in=article.also_in,
        )


class ArticlePage(BaseModel):
    """One page of the list: the articles matching the filters, newest first."""

    total: int
    """Articles matching the filters, on every page."""
    page: int
    per_page: int
    articles: list[ArticleSummary]
    indexed_articles: int
    indexed_chunks: int


class ArticleDetail(BaseModel):
    """One article: its metadata and its text (rebuilt from its chunks)."""

    id: str
    title: str
    source: str
    published: str
    url: str
    chunks: int
    also_in: list[dict[str, str]]
    text: str
    truncated: bool
    """True when the text is longer than the part sent."""


class Problem(BaseModel):
    detail: str


def articles_router(catalog: Catalog) -> APIRouter:
    """The read-only article routes over ``catalog``."""
    router = APIRouter(tags=["articles"])

    @router.get("/api/articles", response_model=ArticlePage, responses={422: {"model": Problem}})
    def list_articles(
        q: str = "",
        source: Annotated[list[str] | None, Query()] = None,
        since: str = "",
        until: str = "",
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
    ) -> Any:
        """The indexed articles, newest first: ``q`` words of the headline or outlet, ``source``
        outlets (repeatable, any case, near-duplicates count), ``since``/``until`` dates."""
        wanted = ArticleFilter(q[:200], tuple(source or ()), since, until)
        problem = wanted.problem()
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=422)
        total, shown = catalog.page(wanted, page, per_page)
        every = catalog.articles()
        return ArticlePage(
            total=total,
            page=page,
            per_page=per_page,
            articles=[ArticleSummary.of(a) for a in shown],
            indexed_articles=len(every),
            indexed_chunks=sum(a.chunks for a in every),
        )

    @router.get(
        "/api/articles/{article_id:path}", response_model=ArticleDetail, responses={404: {"model": Problem}}
    )
    def get_article(article_id: str) -> Any:
        """One article's text and metadata (``id`` as the list and citations give it)."""
        article = catalog.read(article_id)
        if article is None:
            return JSONResponse({"detail": f"no article {article_id!r} in the index"}, status_code=404)
        return ArticleDetail(
            id=article.id,
            title=article.title,
            source=article.source,
            published=article.published,
            url=public_url(article.url),
            chunks=article.chunks,
            also_in=[
                {
                    **{k: v for k, v in o.items() if k not in ("origin", "url")},
                    "url": public_url(o.get("url", "")),
                }
                for o in article.also_in
            ],
            text=article.text[:MAX_SHOWN_CHARS],
            truncated=len(article.text) > MAX_SHOWN_CHARS,
        )

    return router
