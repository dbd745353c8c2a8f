"""A real PostgreSQL server for the tests: Debian's binaries, its own data directory, a free loopback port.

One server per machine, started once: ``make test`` (and so ``.ci/run``) starts it before pytest with
``python tests/pg_fixture.py start`` (which prints the admin URL it exports as ``SHOPSENSE_TEST_PG_URL``) and
stops it afterwards. A test run started without it (a developer's plain ``pytest``) starts the same server
on first use, under a file lock so that pytest-xdist workers share one, and leaves it running for the next
run (``python tests/pg_fixture.py stop`` ends it). Tests skip, saying so, only where PostgreSQL's server
binaries are not installed (``apt-get install postgresql``; ``make test`` installs them).

Each test gets a database of its own (:func:`fresh_database`), dropped afterwards. PostgreSQL refuses to
run as root; as root the server runs as the ``postgres`` system user that Debian's package creates.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_URL = "SHOPSENSE_TEST_PG_URL"
STATE_DIR = Path(os.environ.get("SHOPSENSE_TEST_PG_DIR", f"/tmp/shopsense-test-pg-{os.getuid()}"))
ADMIN_USER = "shopsense"
_SERVER_SETTINGS = {  # a test server: durable commits, but no fsync (the tests never crash the machine)
    "listen_addresses": "'127.0.0.1'", "unix_socket_directories": "''", "fsync": "off",
    "full_page_writes": "off", "max_connections": "200", "shared_buffers": "64MB",
}


def server_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` and ``pg_ctl``, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _url(port: int, database: str = "postgres") -> str:
    return f"postgresql+psycopg://{ADMIN_USER}@127.0.0.1:{port}/{database}"


def _ready(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def start() -> str:
    """Start the server unless it runs already (idempotent, safe across processes); returns its admin URL."""
    bindir = server_binaries()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                                "(apt-get install postgresql)")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_file = STATE_DIR / "state.json"
        data = STATE_DIR / "data"
        if state_file.exists():
            port = json.loads(state_file.read_text())["port"]
            if _ready(port) and _status(bindir, data):
                return _url(port)
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(mode=0o700)
            if os.geteuid() == 0:
                pw = pwd.getpwnam("postgres")
                os.chown(data, pw.pw_uid, pw.pw_gid)
                os.chmod(STATE_DIR, 0o755)
            subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", ADMIN_USER,
                                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                           check=True, stdout=subprocess.DEVNULL)
        port = _free_port()
        options = " ".join(f"-c {k}={v}" for k, v in {**_SERVER_SETTINGS, "port": str(port)}.items())
        log = STATE_DIR / "server.log"
        if os.geteuid() == 0:
            log.touch()
            pw = pwd.getpwnam("postgres")
            os.chown(log, pw.pw_uid, pw.pw_gid)
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                                        "-t", "120", "-o", options, "start"]), check=True,
                       stdout=subprocess.DEVNULL)
        state_file.write_text(json.dumps({"port": port}))
        return _url(port)


def _status(bindir: Path, data: Path) -> bool:
    return subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "status"]),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def stop() -> None:
    """Stop the server started by :func:`start` (its data directory stays, for a quick restart)."""
    bindir = server_binaries()
    data = STATE_DIR / "data"
    if bindir is None or not (data / "PG_VERSION").exists():
        return
    if _status(bindir, data):
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       check=True, stdout=subprocess.DEVNULL)


def admin_url() -> str:
    """The server's admin URL: ``$SHOPSENSE_TEST_PG_URL`` when set, else the server :func:`start` runs;
    skips the calling test when PostgreSQL is not installed."""
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    import pytest

    if server_binaries() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); `make test` installs it")
    return start()


@contextmanager
def fresh_database(url: str, prefix: str = "t") -> Iterator[str]:
    """A new empty database on the server of admin ``url``; yields its URL, drops it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Wait until the server of ``url`` accepts connections (a guard against a hang, not a limit)."""
    from sqlalchemy.engine import make_url

    port = make_url(url).port or 5432
    deadline = time.monotonic() + timeout
    while not _ready(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL on port {port} did not come up")
        time.sleep(0.2)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(start())
    elif command == "stop":
        stop()
    else:
        sys.exit(f"usage: {sys.argv[0]} start|stop")
