"""`python -m app.alert_sink`: a webhook receiver for Alertmanager that logs each alert.

Compose's default receivers post here, so a fresh stack shows its alerts in the logs (and in
Grafana's Logs dashboard) before anyone configures e-mail or chat. Replace the webhook URLs in
config/alertmanager/alertmanager.yml to send them anywhere else.
"""

import json
import logging
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.logs import configure_logging

logger = logging.getLogger("app.alerts")

MAX_BODY = 1024 * 1024


class AlertHandler(BaseHTTPRequestHandler):
    server_version = "alert-sink"

    def do_GET(self) -> None:
        self._answer(200 if self.path == "/health" else 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if not self.path.startswith("/alerts/") or length > MAX_BODY:
            self._answer(404 if length <= MAX_BODY else 413)
            return
        try:
            notification: dict[str, Any] = json.loads(self.rfile.read(length))
        except json.JSONDecodeError:
            self._answer(400)
            return
        receiver = self.path.removeprefix("/alerts/")
        for alert in notification.get("alerts", []):
            labels = alert.get("labels", {})
            logger.warning(
                "%s %s: %s",
                alert.get("status", "?"),
                labels.get("alertname", "?"),
                alert.get("annotations", {}).get("summary", ""),
                extra={
                    "receiver": receiver,
                    "alertname": labels.get("alertname"),
                    "severity": labels.get("severity"),
                    "alert_status": alert.get("status"),
                    "alert_labels": labels,
                },
            )
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # one line per alert is enough


def serve(host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), AlertHandler)


def main() -> None:
    configure_logging(level="INFO", fmt=os.environ.get("LOG_FORMAT", "json"), service="alert-sink")
    host = os.environ.get("ALERT_SINK_HOST", "127.0.0.1")
    port = int(os.environ.get("ALERT_SINK_PORT", "8080"))
    logger.info("alert sink on %s:%d", host, port)
    serve(host, port).serve_forever()


if __name__ == "__main__":
    main()
