"""HTTP for the job queue: see what is waiting or dead, and retry dead jobs."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.errors import AppError, NotFoundError
from app.jobs import repository
from app.jobs.schemas import Job, JobStatus
from app.resources import ResourcesDep

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("", response_model=list[Job])
async def list_jobs(
    resources: ResourcesDep,
    status: Annotated[JobStatus | None, Query(description="`dead` lists the dead letters.")] = None,
    task: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Job]:
    """Background jobs, newest first."""
    async with resources.db.transaction() as conn:
        rows = await repository.list_jobs(conn, status=status, task=task, limit=limit)
    return [Job.model_validate(row) for row in rows]


@router.post("/{job_id}/retry", response_model=Job)
async def retry_job(job_id: int, resources: ResourcesDep) -> Job:
    """Give a dead job a fresh set of attempts, due now."""
    async with resources.db.transaction() as conn:
        row = await repository.requeue(conn, job_id)
        existing = None if row else await repository.get_job(conn, job_id)
    if row is None:
        if existing is None:
            raise NotFoundError("job", job_id)
        raise AppError(409, "job_not_dead", f"job {job_id} is {existing['status']}, not dead")
    return Job.model_validate(row)
