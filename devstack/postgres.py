"""A real PostgreSQL 16 from the `pgserver` wheel, on 127.0.0.1 with password authentication.

Used by `make run` (data under `.data/postgres`) and by the tests (data in a temporary folder).
PostgreSQL refuses to run as root; as root the server runs as the `pgserver` system user.
"""

import importlib.util
import os
import pwd
import random
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

SYSTEM_USER = "pgserver"


def bin_dir() -> Path:
    # Located without importing pgserver: its import has side effects (runtime dirs, warnings).
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: pip install -r requirements-dev.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


# Ports for servers come from below the kernel's ephemeral range and are reserved across
# processes for a while. `bind(0)` would hand out a port from the ephemeral range, the range every
# outgoing connection draws from too: under parallel tests one of those, or another test asking
# the same question, took such a port before its server had bound it.
FIRST_PORT = 10000
RESERVATION_SECONDS = 600
PORT_RESERVATIONS = Path(tempfile.gettempdir()) / f"devstack-ports-{os.getuid()}"
_random = random.SystemRandom()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def claim_port(port: int) -> bool:
    """Reserve `port` unless another caller did lately, if it is free on 127.0.0.1 right now."""
    PORT_RESERVATIONS.mkdir(exist_ok=True)
    marker = PORT_RESERVATIONS / str(port)
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        try:
            if time.time() - marker.stat().st_mtime < RESERVATION_SECONDS:
                return False
        except FileNotFoundError:
            pass
        marker.touch()  # an old reservation: its server has long started, or never will
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server about to start, reserved for it."""
    end = _ephemeral_start()
    if end - FIRST_PORT < 1000:  # an unusual ephemeral range: use the whole space
        end = 65536
    for _ in range(1000):
        port = _random.randrange(FIRST_PORT, end)
        if claim_port(port):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class EmbeddedPostgres:
    """initdb once, then start/stop on demand. Idempotent: a second `start` reuses the data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        user: str,
        password: str,
        database: str,
        durable: bool = True,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        # Tests trade crash safety for speed; `make run` keeps it.
        self.durable = durable
        self.bin = bin_dir()
        self._as_root = os.geteuid() == 0
        self.log_file = self.data_dir / "server.log"

    def conninfo(self, database: str | None = None) -> str:
        return make_conninfo(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
        )

    def _run(self, tool: str, *args: str) -> None:
        # As root, drop to the system user and its group only (root's groups must not leak in).
        drop_to = SYSTEM_USER if self._as_root else None
        result = subprocess.run(
            [str(self.bin / tool), *args],
            user=drop_to,
            group=drop_to,
            extra_groups=[] if drop_to else None,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{log[-2000:]}"
            )

    def _prepare_root(self) -> None:
        """As root: create the system user and let it reach the data folder and the binaries."""
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(SYSTEM_USER)
        for parent in [*self.data_dir.parents, *self.bin.parents]:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster and the database if missing. True when it was created now."""
        if self.initialized:
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self._as_root:
            self._prepare_root()
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.data_dir.parent) as pwfile:
            pwfile.write(self.password + "\n")
        try:
            if self._as_root:
                shutil.chown(pwfile.name, user=SYSTEM_USER, group=SYSTEM_USER)
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", self.user,
                f"--pwfile={pwfile.name}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            )  # fmt: skip
        finally:
            Path(pwfile.name).unlink()
        settings = [
            "listen_addresses = '127.0.0.1'",
            # TCP only: socket paths have length limits and root-owned temp folders get in the way.
            "unix_socket_directories = ''",
            "timezone = 'UTC'",
        ]
        if not self.durable:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# devstack\n" + "\n".join(settings) + "\n")
        return True

    def start(self) -> None:
        """Start the server, or adopt the one already running on this data folder."""
        self.init()
        if self._status_running():
            self._ensure_database()
            return
        self._run(
            "pg_ctl",
            "-D", str(self.data_dir),
            "-l", str(self.log_file),
            "-o", f"-p {self.port}",
            "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self._ensure_database()

    def _status_running(self) -> bool:
        # pg_ctl status exits 0 when a live postmaster owns the folder, 3 when none does.
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "status")
        except RuntimeError:
            return False
        return True

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        try:
            with psycopg.connect(self.conninfo("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _ensure_database(self) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def run_sql_files(self, folder: Path) -> list[str]:
        """Apply `*.sql` in name order, as the postgres image does at first boot."""
        applied = []
        for path in sorted(folder.glob("*.sql")):
            with psycopg.connect(self.conninfo(), autocommit=True) as conn:
                conn.execute(path.read_text())
            applied.append(path.name)
        return applied
