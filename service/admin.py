"""The admin HTTP API, behind admin API keys (:mod:`service.auth`): documents added, replaced and removed live,
the index's generations, and a reload.

An upload goes through the same readers and bad-input rules as ``parasearch index``; a file that cannot be read
is a 422 naming the reason, and nothing is published. Each change is an incremental update
(:func:`indexer.update.update_index`, with the server's own encoders, under the index's writer lock), after
which the server switches to the new generation before answering, so the next request already sees it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field, ValidationError

from indexer.readers import SUFFIXES, read_document
from indexer.update import UpdateReport, update_index
from parasearch import indexfiles
from parasearch.digest import file_sha256
from parasearch.errors import Conflict, DocumentError, IndexUnavailable, WriteError
from parasearch.types import ParsedDocument
from service.auth import require_admin
from service.live import EngineHolder, release_soon

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses={401: {"description": "No API key"}, 403: {"description": "Not an admin key"}})


class DocumentMetadata(BaseModel):
    """What the upload's ``metadata`` field may say of the document; what it leaves out is read from the file."""

    model_config = {"extra": "forbid"}
    symbol: str | None = Field(default=None, max_length=200, examples=["A/RES/79/191"])
    title: str | None = Field(default=None, max_length=2000)
    date: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", examples=["2024-12-17"])
    body: str | None = Field(default=None, max_length=200, examples=["General Assembly"])
    type: str | None = Field(default=None, max_length=100, examples=["resolution"])
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", examples=["en"])


class ChangeOut(BaseModel):
    generation: str = Field(description="The generation now served, which holds the change")
    base: str = Field(description="The generation the change was made on")
    added: list[str] = Field(default_factory=list, examples=[["A/RES/79/191 (en)"]])
    replaced: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    documents: int
    paragraphs: int
    warnings: list[str] = Field(default_factory=list, description="What the reader noted about the file")
    took_ms: float


class GenerationOut(BaseModel):
    name: str
    current: bool = Field(description="What CURRENT names (what the index directory holds as current)")
    serving: bool = Field(description="The generation this server answers from")
    built_at: str | None
    documents: int | None
    paragraphs: int | None
    kind: str = Field(description="build (a full build) or update (an incremental update)")
    change: dict[str, Any] | None = Field(default=None, description="For an update: the generation it was made "
                                          "from (base), what it added, replaced and removed, and its seconds")


class ReloadOut(BaseModel):
    generation: str
    switched: bool


def _holder(request: Request) -> EngineHolder:
    holder: EngineHolder | None = getattr(request.app.state, "holder", None)
    if holder is None:
        raise Conflict("this server does not follow its index (it was started over a fixed engine)")
    return holder


Holder = Annotated[EngineHolder, Depends(_holder)]


def _publish(holder: EngineHolder, started: float, *, add: list[tuple[ParsedDocument, str]] | None = None,
             remove: list[tuple[str, str | None]] | None = None) -> ChangeOut:
    with holder.lease() as engine:  # its encoders embed the new paragraphs: no second copy of the models
        try:
            report: UpdateReport = update_index(holder.index_dir, encoders=engine.encoders, add=add, remove=remove)
        except IndexUnavailable as exc:  # a generation that went missing under the server: the change can't apply
            raise Conflict(str(exc)) from None
        except OSError as exc:  # (UpdateError, WriteError and the other ParasearchErrors: the app's handler)
            raise WriteError(f"the index could not be written ({exc.strerror or exc}); "
                             "the current generation is unchanged") from None
    result = holder.reload()
    release_soon()  # the update's own arrays (the old vectors read, BM25 rebuilt) are garbage now
    if result.error:
        raise Conflict(f"the update was published as {report.generation} but could not be loaded "
                       f"({result.error}); still serving {result.generation}")
    return ChangeOut(generation=report.generation or "", base=report.base or "", added=report.added,
                     replaced=report.replaced, removed=report.removed, documents=report.documents,
                     paragraphs=report.paragraphs, took_ms=round((time.perf_counter() - started) * 1000, 1))


@router.post("/documents", response_model=ChangeOut, status_code=201,
             summary="Add a document, or replace the one with the same symbol and language",
             description="Multipart: `file` (PDF, Word, text/Markdown or AKN XML) and `metadata`, a JSON object "
                         "with any of `symbol`, `title`, `date`, `body`, `type`, `language` (what it leaves out "
                         "is read from the document). A file that cannot be read is a 422 with the reason; "
                         "nothing is published then.",
             responses={422: {"description": "The file or its metadata cannot be indexed"}})
def add_document(holder: Holder, file: Annotated[UploadFile, File(description="The document file")],
                 metadata: Annotated[str, Form(description="JSON: symbol, title, date, body, type, language")]
                 = "{}") -> ChangeOut:
    started = time.perf_counter()
    try:
        meta = DocumentMetadata.model_validate(json.loads(metadata or "{}"))
    except (ValueError, ValidationError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not a JSON object"
        raise DocumentError(f"metadata: {reason}") from None
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type {suffix or '(none)'}; one of "
                            f"{', '.join(sorted(SUFFIXES))}")
    with tempfile.TemporaryDirectory(prefix="parasearch-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with open(path, "wb") as sink:
            while chunk := file.file.read(1 << 20):
                sink.write(chunk)
        try:
            parsed = read_document(path, meta.model_dump(exclude_none=True))
        except DocumentError as exc:
            raise DocumentError(f"{name}: {exc}") from None
        except Exception as exc:  # a reader bug: a named problem, as in parasearch index
            raise DocumentError(f"{name}: could not be read ({type(exc).__name__})") from None
        digest = file_sha256(path)
    parsed.doc.source = f"upload:{name}"
    out = _publish(holder, started, add=[(parsed, digest)])
    out.warnings = list(parsed.warnings)
    return out


@router.delete("/documents/{symbol:path}", response_model=ChangeOut,
               summary="Remove a document (every language version, or one)",
               responses={404: {"description": "No such document in the index"}})
def remove_document(holder: Holder, symbol: str,
                    language: Annotated[str | None, Query(pattern=r"^[a-zA-Z]{2,3}$",
                                                          description="Only this language version")] = None
                    ) -> ChangeOut:
    return _publish(holder, time.perf_counter(), remove=[(symbol, language)])


@router.get("/generations", response_model=list[GenerationOut], summary="The index's kept generations, oldest first")
def list_generations(holder: Holder) -> list[GenerationOut]:
    serving = holder.generation
    return [GenerationOut(**vars(g), serving=g.name == serving) for g in indexfiles.generations(holder.index_dir)]


@router.post("/reload", response_model=ReloadOut,
             summary="Switch to the generation the index directory names as current, if it is not served yet",
             responses={409: {"description": "The generation could not be loaded; the old one is still served"}})
def reload(holder: Holder) -> ReloadOut:
    result = holder.reload()
    release_soon()  # the update's own arrays (the old vectors read, BM25 rebuilt) are garbage now
    if result.error:
        raise Conflict(f"could not load the current generation ({result.error}); still serving "
                       f"{result.generation}")
    return ReloadOut(generation=result.generation, switched=result.switched)
