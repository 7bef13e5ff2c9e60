"""The printout of ``make bench``: one row per figure, the empty and the seeded column, the
ratio seeded/empty and the target. A figure that misses its target is marked ``!``; so is a
ratio where the seeded figure is more than twice as bad as the empty one."""

from __future__ import annotations

from dataclasses import dataclass

from devstack import INFRASTRUCTURE, SERVICES

#: Every list endpoint of every service, ``{site}`` the measured site.
LISTS: tuple[tuple[str, str], ...] = (
    ("intake", "/v1/referrals?site_id={site}"),
    ("intake", "/v1/sites"),
    ("intake", "/v1/waitlist?site_id={site}"),
    ("intake", "/v1/audit"),
    ("intake", "/v1/sites/{site}/clinicians"),
    ("intake", "/v1/sites/{site}/programs"),
    ("notifications", "/v1/inbox?site_id={site}"),
    ("skills-group", "/v1/sites"),
    ("skills-group", "/v1/sites/{site}/programs"),
    ("coaching", "/v1/sites"),
    ("coaching", "/v1/sites/{site}/programs"),
)
#: The console's busiest pages (tests/bench/bench_console.py opens them), and its list pages
#: (their first render in Chromium is measured).
CONSOLE_PAGES: tuple[tuple[str, str], ...] = (
    ("organisation", "organisation overview"),
    ("queue", "referral queue, one stage"),
    ("waitlist", "waitlist, oldest first"),
    ("referral", "a referral"),
    ("inbox", "site inbox"),
    ("staff", "staff list"),
    ("groups", "groups (#21)"),
    ("coaching", "coaching queue (#21)"),
    ("rota", "on-call rota week (#21)"),
)
CONSOLE_LIST_PAGES = tuple(p for p in CONSOLE_PAGES if p[0] != "referral")


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str
    higher_is_better: bool | None = None  # None: a reference figure, no target, no ratio mark
    target: float | None = None

    def meets(self, value: float) -> bool:
        if self.target is None or self.higher_is_better is None:
            return True
        return value >= self.target if self.higher_is_better else value <= self.target

    def worse(self, empty: float, seeded: float) -> bool:
        """Whether the seeded figure is more than twice as bad as the empty one."""
        if self.higher_is_better is None:
            return False
        return empty > 2 * seeded if self.higher_is_better else seeded > 2 * empty

    def target_text(self) -> str:
        if self.target is None:
            return ""
        sign = ">=" if self.higher_is_better else "<="
        return f"{sign} {self.target:g} {self.unit}"


def rows(cfg) -> list[Row]:
    result = [
        Row("raw", "raw producer ceiling (1 KB, acks=all)", "/s"),
        Row("e2e_rate", f"referral->inbox, closed loop ({cfg.clients} clients)", "/s", True, 150),
        Row("api_rate", "  POST /v1/referrals rate, same load", "/s", True),
        Row("lat_p50", f"referral->inbox p50 at {cfg.rate:g}/s open loop", "ms", False, 100),
        Row("lat_p99", f"referral->inbox p99 at {cfg.rate:g}/s open loop", "ms", False, 500),
        Row("post_p50", "  POST /v1/referrals p50, same load", "ms", False),
        Row("post_p99", "  POST /v1/referrals p99, same load", "ms", False),
        Row("catchup", f"consumer catch-up, {cfg.backlog} events", "/s", True, 500),
        Row("catchup_all", "  the same, from the worker's start", "/s", True),
        Row("catchup_start", "  worker start -> first item", "s", False),
    ]
    load = f"under {cfg.crisis_rate:g} referrals/s"
    result += [
        Row("crisis_p50", f"crisis request->on-call SMS p50, {load}", "ms", False),
        Row("crisis_p99", f"crisis request->on-call SMS p99, {load}", "ms", False, 250),
    ]
    for service, path in LISTS:
        shown = path.replace("{site}", "{id}")
        result.append(Row(f"list:{service}:{path}", f"p99 {service} {shown}", "ms", False, 50))
    think = getattr(cfg, "console_think_s", 2.0)
    users = f"{getattr(cfg, 'console_users', 20)} signed-in staff, ~{think:g} s between pages"
    for key, label in CONSOLE_PAGES:
        result += [
            Row(f"console:{key}:p95", f"console {label}: p95 server time", "ms", False, 150),
            Row(f"console:{key}:p50", f"  p50 server time, {users}", "ms", False),
            Row(f"console:{key}:ttlb95", "  p95 to last byte at the client", "ms", False),
            # at most one parallel round of the console's pool (client.POOL_SIZE, 8): a page
            # calling a service once per row of a page of rows shows far above it
            Row(f"console:{key}:calls", "  service calls per page, max", "calls", False, 8),
        ]
    result += [
        Row(
            "console:closed:rate", "console, the same staff with no pause: pages served", "/s", True
        ),
        Row("console:closed:p95", "  p95 server time, every page together", "ms", False),
    ]
    for key, label in CONSOLE_LIST_PAGES:  # in Chromium, alone
        result.append(Row(f"console:{key}:fcp", f"console {label}: first paint", "ms", False, 1000))
    processes = [*INFRASTRUCTURE, *(f"{s}-{k}" for k in ("api", "worker") for s in SERVICES)]
    for process in processes:
        result.append(Row(f"cpu:{process}", f"CPU at rest: {process}", "%", False, 5))
    result.append(Row("cpu:total", "CPU at rest: all processes", "%", False))
    return result


def _value(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    digits = 2 if row.unit == "%" else 1 if row.unit in ("ms", "s") else 0
    mark = " " if row.meets(value) else "!"
    return f"{value:,.{digits}f} {row.unit}{mark}"


def print_table(
    cfg,
    results: dict[str, dict[str, float | None]],
    notes: list[str],
    context: str,
    only: str = "",
) -> None:
    """The table; ``only`` keeps the rows whose key starts with it (a section run alone)."""
    empty, seeded = results.get("empty", {}), results.get("seeded", {})
    print()
    print(
        f"platform bench: {cfg.seed} referrals seeded over {cfg.sites} sites; CPU in % of one "
        f"core over {cfg.cpu_s:g} s; list endpoints at {cfg.list_rate:g}/s for {cfg.list_s:g} s "
        "each (operator token)"
    )
    print(context)
    header = f"{'figure':52s} {'empty':>14s} {'seeded':>14s} {'seeded/empty':>13s}  target"
    print(header)
    print("-" * len(header))
    for row in rows(cfg):
        if not row.key.startswith(only):
            continue
        a, b = empty.get(row.key), seeded.get(row.key)
        if a is None and b is None and row.key.startswith("cpu:"):
            continue
        ratio = ""
        if a is not None and b is not None and a > 0:
            ratio = f"{b / a:.2f}" + ("!" if row.worse(a, b) else " ")
        print(
            f"{row.label:52s} {_value(row, a):>14s} {_value(row, b):>14s} {ratio:>13s}"
            f"  {row.target_text()}"
        )
    print("! misses its target, or seeded is more than 2x worse than empty")
    for note in notes:
        print(f"note: {note}")
