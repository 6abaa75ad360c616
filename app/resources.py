"""What the lifespan owns, and the dependency that hands it to routers and job handlers."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request

from app.config import Settings
from app.db import Database
from app.notifications import Notifier
from app.storage import ObjectStorage

if TYPE_CHECKING:  # app.search imports the documents repository, which imports app.db only
    from app.search import SearchBackend


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    db: Database
    storage: ObjectStorage
    search: "SearchBackend"
    notifier: Notifier
    expected_revision: str | None


def get_resources(request: Request) -> Resources:
    return cast(Resources, request.app.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]
