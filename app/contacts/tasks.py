"""Background work on contacts: tell the admin about a new one."""

from typing import Any
from uuid import UUID

from app.contacts import repository
from app.jobs.service import Task
from app.notifications import NewContactNotice
from app.resources import Resources


async def _notify_admin(resources: Resources, payload: dict[str, Any]) -> None:
    """Idempotent: `notified_at` records the send, so a second delivery sends nothing.

    A crash between sending and recording can still send twice; at-least-once is the
    guarantee e-mail allows.
    """
    contact_id = UUID(payload["contact_id"])
    async with resources.db.transaction() as conn:
        row = await repository.notice_source(conn, contact_id)
    if row is None or row["notified_at"] is not None:
        return
    await resources.notifier.send_new_contact(
        NewContactNotice(
            contact_id=row["id"],
            name=row["name"],
            email=row["email"],
            subject=row["subject"],
            message=row["message"],
            tags=list(row["metadata"].get("tags", [])),
            attachment_names=list(row["attachment_names"]),
            created_at=row["created_at"],
        )
    )
    async with resources.db.transaction() as conn:
        await repository.mark_notified(conn, contact_id)


# SES or the mail relay may be down for hours: keep trying, with backoff, for about a day.
NOTIFY_ADMIN = Task("notify_admin", _notify_admin, max_attempts=25)

TASKS = (NOTIFY_ADMIN,)
