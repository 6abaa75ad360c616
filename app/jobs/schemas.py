"""Background jobs as the API shows them."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

JobStatus = Literal["pending", "running", "done", "dead"]


class Job(BaseModel):
    id: int
    task: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
