"""What a running stack does at rest, per process: ``make seed`` twice and this after each shows
whether a cost follows what is stored.

Over a window (120 s unless told): the CPU seconds of each process of the stack (its whole tree:
gunicorn workers, PostgreSQL backends), the commands FerretDB answered, and the PostgreSQL tables
read (rows read by sequential and index scans, from ``pg_stat_user_tables``; FerretDB keeps one
table per collection, named after it). CPU seconds compare across runs on a loaded machine,
wall-clock latencies do not.

``python -m tests.bench.at_rest [--profile dev|test] [--seconds 120]`` from the checkout
(``DEVSTACK_PORT_OFFSET`` picks a test stack).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
import urllib.request

from devstack import Profile, Stack, postgres
from tests.bench.bench_probe import TICKS, _snapshot, _tree_ticks

FERRETDB_DATABASE = "ferretdb"  # devstack's PostgreSQL database of FerretDB
_TABLES = (
    "SELECT schemaname || '.' || relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), "
    "coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables"
)


def _tables(profile: Profile) -> dict[str, tuple[int, ...]]:
    out = subprocess.run(
        [
            str(postgres.binary("psql")),
            *("-h", "127.0.0.1", "-p", str(profile.postgres_port), "-U", postgres.SUPERUSER),
            *("-d", FERRETDB_DATABASE, "-XAt", "-F", "\t", "-c", _TABLES),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    rows = (line.split("\t") for line in out.splitlines() if line.count("\t") == 4)
    return {row[0]: tuple(int(x) for x in row[1:]) for row in rows}


def _ferretdb_commands(profile: Profile) -> dict[str, float]:
    url = f"http://127.0.0.1:{profile.ferretdb_metrics_port}/debug/metrics"
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r'ferretdb_client_requests_total\{command="(\w+)".*\} (\S+)', line)
        if m:
            found[m[1]] = found.get(m[1], 0.0) + float(m[2])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="dev")
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    profile = Profile.named(args.profile)
    roots = {n: p.pid for n, p in Stack.attach(profile).processes.items() if p.is_running()}
    tables, commands, ticks = _tables(profile), _ferretdb_commands(profile), _snapshot()
    started = time.monotonic()
    time.sleep(args.seconds)
    elapsed = time.monotonic() - started
    tables_after, commands_after, ticks_after = (
        _tables(profile),
        _ferretdb_commands(profile),
        _snapshot(),
    )
    total = 0.0
    print(f"at rest over {elapsed:.0f} s ({profile.name} stack): CPU s, % of one core")
    for name, pid in sorted(roots.items()):
        seconds = (_tree_ticks(pid, ticks_after) - _tree_ticks(pid, ticks)) / TICKS
        total += seconds
        print(f"  {name:24s} {seconds:7.2f} {100 * seconds / elapsed:6.2f}%")
    print(f"  {'all':24s} {total:7.2f} {100 * total / elapsed:6.2f}%")
    ran = {
        k: int(v - commands.get(k, 0)) for k, v in commands_after.items() if v > commands.get(k, 0)
    }
    print(f"FerretDB commands: {ran}")
    print("tables read (seq scans, rows; index scans, rows):")
    read = []
    for table, now in tables_after.items():
        d = [a - b for a, b in zip(now, tables.get(table, (0, 0, 0, 0)), strict=True)]
        if any(d):
            read.append((d[1] + d[3], table, d))
    for _rows, table, d in sorted(read, reverse=True)[:20]:
        print(f"  {table:60s} {d[0]:6d} {d[1]:9d}   {d[2]:6d} {d[3]:9d}")


if __name__ == "__main__":
    main()
