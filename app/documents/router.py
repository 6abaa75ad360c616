"""HTTP for documents: metadata, download, search."""

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.documents import service
from app.documents.schemas import Document, SearchResults
from app.resources import ResourcesDep
from app.search import SearchQuery

router = APIRouter(prefix="/api/documents", tags=["documents"])

_SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"


@router.get("/search", response_model=SearchResults)
async def search_documents(
    resources: ResourcesDep,
    q: Annotated[
        str, Query(max_length=200, pattern=_SAFE_TEXT, description="Words to look for.")
    ] = "",
    tag: Annotated[
        str | None,
        Query(min_length=1, max_length=50, pattern=_SAFE_TEXT, description="Contact tag."),
    ] = None,
    content_type: Annotated[
        str | None, Query(max_length=100, pattern=_SAFE_TEXT, examples=["application/pdf"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchResults:
    """Full-text search over attachments' names and extracted text, with highlighted snippets."""
    query = SearchQuery(
        q=q.strip(),
        tag=tag.strip().lower() if tag else None,
        content_type=content_type or None,
        limit=limit,
        offset=offset,
    )
    return await service.search_documents(resources, query)


@router.get("/{document_id}", response_model=Document)
async def get_document(document_id: UUID, resources: ResourcesDep) -> Document:
    """One attachment: metadata, processing status and insights."""
    return await service.get_document(resources.db, document_id)


@router.get(
    "/{document_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_document(document_id: UUID, resources: ResourcesDep) -> StreamingResponse:
    """The file's bytes, streamed through the API, always as an attachment (never rendered)."""
    download = await service.open_download(resources, document_id)
    document = download.document
    ascii_name = document.filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(document.filename)}"
    )
    return StreamingResponse(
        download.chunks,
        media_type=document.content_type,
        headers={
            "Content-Length": str(document.size_bytes),
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{document.sha256}"',
            "Cache-Control": "private, no-cache",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
