"""An index: its settings, next to the defaults, and its documents."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.meilisearch.documents import Doc

DEFAULT_SETTINGS: dict[str, Any] = {
    "displayedAttributes": ["*"],
    "searchableAttributes": ["*"],
    "filterableAttributes": [],
    "sortableAttributes": [],
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    "stopWords": [],
    "nonSeparatorTokens": [],
    "separatorTokens": [],
    "dictionary": [],
    "synonyms": {},
    "distinctAttribute": None,
    "proximityPrecision": "byWord",
    "typoTolerance": {
        "enabled": True,
        "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        "disableOnWords": [],
        "disableOnAttributes": [],
        "disableOnNumbers": False,
    },
    "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}},
    "pagination": {"maxTotalHits": 1000},
    "embedders": {},
    "searchCutoffMs": None,
    "localizedAttributes": None,
    "facetSearch": True,
    "prefixSearch": "indexingTime",
}
LIST_SETTINGS = {k for k, v in DEFAULT_SETTINGS.items() if isinstance(v, list)}
NESTED_SETTINGS = {"typoTolerance", "faceting", "pagination"}
RANKING_RULE = re.compile(r"words|typo|proximity|attribute|sort|exactness|.+:(asc|desc)")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Index:
    uid: str
    primary_key: str | None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    documents: dict[str, Doc] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS[name])

    def view(self) -> dict[str, Any]:
        created, updated = _iso(self.created_at), _iso(self.updated_at)
        return {"uid": self.uid, "createdAt": created, "updatedAt": updated,
                "primaryKey": self.primary_key}  # fmt: skip
