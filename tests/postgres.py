"""A throw-away PostgreSQL server for the storage tests: installed and started here when none is given.

``NUMBERPLATE_TEST_POSTGRES_URL`` points the tests at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV_URL = "NUMBERPLATE_TEST_POSTGRES_URL"


def _bin_dir() -> Path:
    """The newest installed PostgreSQL's bin folder, installing the Debian package when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        subprocess.run([str(REPO / "scripts" / "apt-install.sh"), "postgresql"], check=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed and could not be (apt-get install postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a fresh PostgreSQL cluster on a free loopback port; removed afterwards."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="numberplate-pg-"))
    data, port = root / "data", _free_port()
    # PostgreSQL refuses to run as root: run it as the postgres user the Debian package creates.
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "numberplate",
                        "-E", "UTF8", "--no-sync"], **run)  # type: ignore[call-overload]
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       **run)  # type: ignore[call-overload]
        subprocess.run([*prefix, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "numberplate",
                        "numberplate_test"], **run)  # type: ignore[call-overload]
        yield f"postgresql+psycopg://numberplate@127.0.0.1:{port}/numberplate_test"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
