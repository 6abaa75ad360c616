"""Documents (contact attachments) as the API returns them."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

ProcessingStatus = Literal["pending", "processing", "completed", "failed"]


class Document(BaseModel):
    """An attachment, its processing state and what processing found in it."""

    id: UUID
    contact_id: UUID
    filename: str = Field(description="Sanitized original name; the storage key is the server's.")
    content_type: str = Field(description="Detected from the file's bytes, not from the client.")
    size_bytes: int
    sha256: str
    processing_status: ProcessingStatus
    processing_error: str | None
    insights: dict[str, Any] = Field(
        description="word_count, language, top_keywords, emails, urls, page_count, title, ..."
    )
    created_at: datetime
    updated_at: datetime
    download_url: str


class SearchHit(BaseModel):
    document: Document
    snippet: str = Field(
        description="HTML-escaped excerpt with <mark>…</mark> around the matched words."
    )


class SearchResults(BaseModel):
    query: str
    backend: str
    total: int
    limit: int
    offset: int
    hits: list[SearchHit]
