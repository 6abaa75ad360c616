"""The alert sink: Alertmanager's webhook JSON in, one log line per alert out."""

import json
from collections.abc import Iterator

import httpx
import pytest

from app.alert_sink import serve
from tests.conftest import serving


@pytest.fixture
def sink() -> Iterator[str]:
    with serving(serve("127.0.0.1", 0)) as url:
        yield url


def test_logs_each_alert(sink: str, caplog: pytest.LogCaptureFixture) -> None:
    notification = {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "TargetDown", "severity": "critical", "job": "api"},
                "annotations": {"summary": "api is down"},
            },
            {
                "status": "resolved",
                "labels": {"alertname": "JobsFailing", "severity": "warning"},
                "annotations": {"summary": "jobs fail"},
            },
        ],
    }
    with caplog.at_level("WARNING", logger="app.alerts"):
        response = httpx.post(f"{sink}/alerts/critical", content=json.dumps(notification))
    assert response.status_code == 200
    assert [r.getMessage() for r in caplog.records] == [
        "firing TargetDown: api is down",
        "resolved JobsFailing: jobs fail",
    ]
    assert caplog.records[0].__dict__["receiver"] == "critical"


def test_health_and_bad_requests(sink: str) -> None:
    assert httpx.get(f"{sink}/health").status_code == 200
    assert httpx.post(f"{sink}/alerts/x", content=b"{not json").status_code == 400
    assert httpx.post(f"{sink}/elsewhere", content=b"{}").status_code == 404
