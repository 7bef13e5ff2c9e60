"""``python -m devstack <command>``: setup, run, up, down, status, token, env."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from . import build, paths
from .errors import StackError
from .profile import SERVICES, Profile
from .stack import Stack
from .tokens import mint_token


def _profile(args: argparse.Namespace) -> Profile:
    return Profile.named(args.profile)


def _print_started(stack: Stack, seconds: float) -> None:
    print(stack.table())
    print(
        f"\n{stack.profile.name} stack ready in {seconds:.1f}s; "
        f"logs in {stack.profile.log_dir.relative_to(paths.ROOT)}/"
    )


def cmd_setup(args: argparse.Namespace) -> int:
    build.setup(force=args.force, only=args.only or None)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Foreground: start everything, wait; stop everything on Ctrl-C, SIGTERM or a crash."""
    stack = Stack(_profile(args))
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = 0
    try:
        t0 = time.monotonic()
        stack.start_all()
        _print_started(stack, time.monotonic() - t0)
        print("Ctrl-C stops everything.", flush=True)
        while True:
            for name, proc in list(stack.processes.items()):
                if not proc.is_running():
                    print(
                        f"\n{name} {proc.describe_exit()} (log: {proc.log_file})\n"
                        f"--- last lines ---\n{proc.log_tail()}\n--- stopping everything",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        rc = 1
    finally:
        stopping = True
        stack.stop_all()
        print("stopped.", flush=True)
    return rc


def cmd_up(args: argparse.Namespace) -> int:
    profile = _profile(args)
    existing = Stack.attach(profile)
    if existing.processes:
        print(f"the {profile.name} stack is already up:\n{existing.table()}")
        return 0
    stack = Stack(profile, detached=True)
    try:
        t0 = time.monotonic()
        stack.start_all()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stack.stop_all()
        return 130
    _print_started(stack, time.monotonic() - t0)
    print(f"stop it with `make down` (python -m devstack down --profile {profile.name})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    profile = _profile(args)
    stack = Stack.attach(profile)
    if not stack.processes:
        print(f"the {profile.name} stack is not running")
        return 0
    names = sorted(stack.processes)
    codes = stack.stop_all(timeout=args.timeout)
    for name in names:
        code = codes.get(name)
        print(f"stopped {name}" + ("" if code is None else f" (exit {code})"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    profile = _profile(args)
    stack = Stack.attach(profile)
    if not stack.processes:
        print(f"the {profile.name} stack is not running")
        return 3
    print(stack.table())
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    if not roles:
        print("error: at least one --role is needed", file=sys.stderr)
        return 2
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    print(mint_token(roles, sites, args.sub, ttl_seconds=args.ttl))
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    """Print the service's environment (only what devstack adds) as shell exports."""
    import os
    import shlex

    env = _profile(args).service_env(args.service)
    for key, value in env.items():
        if os.environ.get(key) != value:
            print(f"export {key}={shlex.quote(value)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_profile(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--profile", choices=("dev", "test"), default="dev")
        return p

    p = sub.add_parser("setup", help="build FerretDB, Mailpit, the Kafka jars and the dev keys")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--only", action="append", choices=("ferretdb", "mailpit", "kafka"))
    p.set_defaults(func=cmd_setup)

    p = with_profile(sub.add_parser("run", help="run the whole platform in the foreground"))
    p.set_defaults(func=cmd_run)
    p = with_profile(sub.add_parser("up", help="start the whole platform in the background"))
    p.set_defaults(func=cmd_up)
    p = with_profile(sub.add_parser("down", help="stop what `up` started"))
    p.add_argument("--timeout", type=float, default=None, help="seconds before SIGKILL")
    p.set_defaults(func=cmd_down)
    p = with_profile(sub.add_parser("status", help="show what `up` started"))
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("token", help="print a dev JWT (RS256, dev key)")
    p.add_argument("--role", action="append", required=True, help="role (repeat or a,b)")
    p.add_argument("--sites", default="", help="comma-separated site ids")
    p.add_argument("--sub", default="dev-user", help="subject (default: dev-user)")
    p.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    p.set_defaults(func=cmd_token)

    p = with_profile(sub.add_parser("env", help="print a service's environment as exports"))
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
