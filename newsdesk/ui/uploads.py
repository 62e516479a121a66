"""Adding and deleting articles from the app: ``POST /api/articles``, ``DELETE /api/articles/{id}`` and
the Articles tab's upload, for admins (a role in the auth file) or everyone with ``--allow-uploads``.

An uploaded file's name is only ever shown: the bytes are checked (count, size, name, text), then
stored under a name made from their own hash (``<state>/uploads/<sha256><suffix>``) and indexed from
there as any file is, so the summary is the one ``newsdesk index`` prints. Any problem with any file
refuses the whole upload with every reason, and nothing changes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from newsdesk.config import Settings
from newsdesk.index.indexer import IndexReport
from newsdesk.index.lock import IndexBusy
from newsdesk.ui.guard import Credentials, Guards, user_of
from newsdesk.ui.library import Catalog
from newsdesk.wiring import Newsdesk

SUFFIXES = (".txt", ".md", ".html", ".jsonl")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 20
_PLAIN_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the browser gave (shown, never used as a path) and its bytes."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1].lower()


def upload_dir(settings: Settings) -> Path:
    """Where uploaded files are kept (beside the index, like the feedback)."""
    return settings.state_dir / "uploads"


def may_change_articles(settings: Settings, credentials: Credentials | None, user: str | None) -> bool:
    """Whether ``user`` (None: nobody logged in) may add and delete articles."""
    if settings.allow_uploads:
        return True
    return credentials is not None and user is not None and credentials.is_admin(user)


def uploads_possible(settings: Settings, credentials: Credentials | None) -> bool:
    """Whether anyone at all may upload (the app's file-upload route is needed only then)."""
    return settings.allow_uploads or (credentials is not None and any(credentials.roles.values()))


def upload_request_limit(settings: Settings, credentials: Credentials | None) -> int:
    """Largest upload request the app takes, in bytes (0: uploads closed): ``NEWSDESK_UPLOAD_MAX_BYTES``
    when set, else room for the Articles tab's files when someone may add articles."""
    if settings.upload_max_bytes:
        return settings.upload_max_bytes
    if uploads_possible(settings, credentials):
        return MAX_FILES * MAX_FILE_BYTES + 64 * 1024  # the files and their multipart framing
    return 0


def check_upload_setting(settings: Settings, credentials: Credentials | None) -> None:
    """``--allow-uploads`` is for a private instance: refused on a public address without a login."""
    if not settings.allow_uploads or credentials is not None:
        return
    try:
        private = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        private = settings.host == "localhost"
    if not private:
        raise ValueError(
            f"--allow-uploads on {settings.host} without a login would let anyone change the articles: "
            "add --auth-file (and make uploaders admins with `newsdesk passwd FILE USER --admin`), "
            "or bind to 127.0.0.1"
        )


def upload_problems(uploads: Sequence[Upload]) -> list[str]:
    """Every reason to refuse these files (empty: they may be indexed)."""
    if not uploads:
        return ["No file was sent."]
    if len(uploads) > MAX_FILES:
        return [f"{len(uploads)} files is too many at once: send at most {MAX_FILES}."]
    problems = []
    for upload in uploads:
        shown = repr(upload.name[:80])
        if not _PLAIN_NAME.match(upload.name) or upload.name.strip(". ") == "" or ".." in upload.name:
            problems.append(f"{shown}: not a plain file name (no folders, '..' or control characters).")
        elif upload.suffix not in SUFFIXES:
            problems.append(f"{shown}: only {', '.join(SUFFIXES)} files can be added.")
        elif len(upload.data) > MAX_FILE_BYTES:
            problems.append(f"{shown}: larger than the {MAX_FILE_BYTES // 2**20} MB limit per file.")
        elif not upload.data.strip():
            problems.append(f"{shown}: the file is empty.")
        elif b"\x00" in upload.data[:65536]:
            problems.append(f"{shown}: a binary file, not text.")
    return problems


@dataclass(frozen=True)
class UploadOutcome:
    """What adding files did: the indexer's report, with problems named by the files' own names."""

    summary: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: list[str]
    skipped: list[str]

    def text(self) -> str:
        lines = [self.summary, *(f"skipped: {reason}" for reason in self.skipped)]
        return "\n".join(lines)


def add_uploads(
    desk: Newsdesk, uploads: Sequence[Upload], progress: Callable[[int, int], None] | None = None
) -> UploadOutcome:
    """Store and index checked uploads (call ``upload_problems`` first); IndexBusy when another
    indexing run is writing."""
    folder = upload_dir(desk.settings)
    folder.mkdir(parents=True, exist_ok=True)
    shown_as: dict[str, str] = {}
    paths = []
    for upload in uploads:
        path = folder / f"{hashlib.sha256(upload.data).hexdigest()[:32]}{upload.suffix}"
        if not path.exists():
            temporary = path.with_name(path.name + ".part")
            temporary.write_bytes(upload.data)
            os.replace(temporary, path)
        shown_as[str(path.resolve())] = upload.name
        paths.append(path.resolve())
    report = desk.indexer.index_paths(paths, progress=progress)
    desk.store.refresh_view()
    return outcome_of(report, shown_as)


def outcome_of(report: IndexReport, shown_as: dict[str, str]) -> UploadOutcome:
    def name(article_id: str) -> str:
        """A file's article by the file's own name (and line); an id of the article's own as it is."""
        file, _, line = article_id.removeprefix("file://").partition("#")
        if file not in shown_as:
            return article_id
        return f"{shown_as[file]} line {line}" if line else shown_as[file]

    return UploadOutcome(
        summary=report.summary(),
        added=[name(a) for a in report.added],
        updated=[name(a) for a in report.updated],
        unchanged=[name(a) for a in report.unchanged],
        duplicates=[name(d.article_id) for d in report.duplicates],
        skipped=[
            f"{shown_as.get(p.path, Path(p.path).name)}"
            + (f" line {p.line}" if p.line else "")
            + f": {p.reason}"
            for p in report.skipped
        ],
    )


def delete_article(desk: Newsdesk, article_id: str) -> bool:
    """Remove one article (as ``newsdesk articles --delete``); an uploaded file left with no article is
    deleted too. False when the index does not hold it."""
    origins, _ = desk.store.article_origins()
    origin = origins.get(article_id)
    report = desk.indexer.remove([article_id])
    if report.unknown:
        return False
    desk.store.refresh_view()
    if origin:
        file = Path(origin.removeprefix("file://"))
        still_used = origin in desk.store.article_origins()[0].values()
        if file.parent == upload_dir(desk.settings).resolve() and not still_used:
            file.unlink(missing_ok=True)
    return True


class UploadResult(BaseModel):
    """What ``POST /api/articles`` did, as ``newsdesk index`` reports it (files by their own names)."""

    summary: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: list[str]
    skipped: list[str]


class Refusal(BaseModel):
    detail: str
    problems: list[str] = []


class Deleted(BaseModel):
    removed: str


def uploads_router(desk: Newsdesk, guards: Guards, catalog: Catalog | None = None) -> APIRouter:
    """``POST /api/articles`` and ``DELETE /api/articles/{id}`` (behind the login; 403 for others
    than admins unless uploads are allowed to all)."""
    router = APIRouter(tags=["articles"])
    settings = desk.settings
    check_upload_setting(settings, guards.credentials)

    def forbidden(request: Request) -> JSONResponse | None:
        if may_change_articles(settings, guards.credentials, user_of(request)):
            return None
        return JSONResponse({"detail": "only an admin may add or delete articles"}, status_code=403)

    @router.post(
        "/api/articles",
        response_model=UploadResult,
        responses={400: {"model": Refusal}, 403: {"model": Refusal}, 409: {"model": Refusal}},
    )
    async def upload_articles(request: Request, files: list[UploadFile]) -> Any:
        """Add articles from .txt, .md, .html or .jsonl files (multipart ``files``)."""
        denied = forbidden(request)
        if denied is not None:
            return denied
        uploads = [Upload(f.filename or "", await f.read(MAX_FILE_BYTES + 1)) for f in files[: MAX_FILES + 1]]
        problems = upload_problems(uploads)
        if problems:
            return JSONResponse({"detail": "nothing was added", "problems": problems}, status_code=400)
        import anyio

        try:
            outcome = await anyio.to_thread.run_sync(add_uploads, desk, uploads)
        except IndexBusy:
            return JSONResponse(
                {"detail": "another indexing run is writing; try again shortly"}, status_code=409
            )
        return UploadResult(**outcome.__dict__)

    @router.delete(
        "/api/articles/{article_id:path}",
        response_model=Deleted,
        responses={403: {"model": Refusal}, 404: {"model": Refusal}, 409: {"model": Refusal}},
    )
    async def remove_article(request: Request, article_id: str) -> Any:
        """Delete one article: its chunks and its BM25 rows (as ``newsdesk articles --delete``)."""
        denied = forbidden(request)
        if denied is not None:
            return denied
        import anyio

        stored = catalog.resolve(article_id) if catalog is not None else article_id
        try:
            removed = stored is not None and await anyio.to_thread.run_sync(delete_article, desk, stored)
        except IndexBusy:
            return JSONResponse(
                {"detail": "another indexing run is writing; try again shortly"}, status_code=409
            )
        if not removed:
            return JSONResponse({"detail": f"no article {article_id!r} in the index"}, status_code=404)
        return Deleted(removed=article_id)

    return router
