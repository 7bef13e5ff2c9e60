"""``python -m devstack <command>``: setup, run, up, down, status, demo, token, env (and supervise,
the background supervisor that ``up`` starts)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from . import build, demo, paths, supervisor
from .environment import service_env
from .errors import StackError
from .process import ManagedProcess
from .profile import DEV_USERS, SERVICES, Profile
from .stack import Stack
from .tokens import mint_token

#: How long ``up`` waits for its supervisor daemon to report in.
SUPERVISOR_START_TIMEOUT = 15.0


def _profile(args: argparse.Namespace) -> Profile:
    try:
        return Profile.named(args.profile)
    except ValueError as exc:  # e.g. a bad DEVSTACK_PORT_OFFSET
        raise StackError(str(exc)) from None


def _print_started(stack: Stack, seconds: float) -> None:
    print(stack.table())
    print(
        f"\n{stack.profile.name} stack ready in {seconds:.1f}s; "
        f"logs in {stack.profile.log_dir.relative_to(paths.ROOT)}/"
    )
    print(_sign_in_help(stack.profile))


def _sign_in_help(profile: Profile) -> str:
    """Where to point a browser, and who to sign in as (dev realm: password = name)."""
    users = ", ".join(f"{name} ({role})" for name, role in DEV_USERS)
    lines = [
        f"\nconsole: {profile.console_url}/  (sign in through Keycloak, {profile.keycloak_url})",
        f"sign in as {users}; the password is the name",
    ]
    note = demo.sign_in_note(profile)
    if note:
        lines.append(note)
    if not profile.ephemeral:
        lines.append(
            f"Keycloak admin console: {profile.keycloak_url}/admin/ (admin / "
            "$KEYCLOAK_ADMIN_PASSWORD, default admin)"
        )
    return "\n".join(lines)


def _first_start_demo(profile: Profile, wanted: bool) -> None:
    """The demo organisation on the first start of an empty dev stack (not the test profile's:
    its tests make what they need)."""
    if profile.ephemeral:
        return
    message = demo.load_on_first_start(profile, wanted)
    if message:
        print(message, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    """Load (or complete) the demo organisation in the running stack; idempotent."""
    profile = _profile(args)
    try:
        made = demo.load(profile)
    except demo.DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # requests' connection errors: nothing answers
        print(f"error: is the {profile.name} stack running (make up)? {exc}", file=sys.stderr)
        return 1
    if not profile.ephemeral:
        demo.mark_loaded(profile, made)
    print(demo.describe(made))
    return 0


def _with_console() -> bool:
    """Whether the staff console is installed in this environment (services/console)."""
    import importlib.util

    return importlib.util.find_spec("console.app") is not None


def cmd_setup(args: argparse.Namespace) -> int:
    build.setup(force=args.force, only=args.only or None)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Foreground: start everything and keep it running (a process that dies is restarted,
    with backoff); stop everything on Ctrl-C or SIGTERM."""
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
    watcher: supervisor.Supervisor | None = None
    try:
        t0 = time.monotonic()
        stack.start_all(keycloak=True, console=_with_console(), monitoring=True)
        seconds = time.monotonic() - t0
        _first_start_demo(stack.profile, args.demo)
        _print_started(stack, seconds)
        print(
            "A process that dies is restarted (1 s, doubling to 30 s). Ctrl-C stops everything.",
            flush=True,
        )
        watcher = supervisor.Supervisor(stack, mode="run")
        watcher.run_forever()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        rc = 1
    finally:
        stopping = True
        if watcher is not None:
            watcher.close()
        stack.stop_all()
        supervisor.clear_stop_marks(stack.profile)
        print("stopped.", flush=True)
    return rc


def _start_supervisor(profile: Profile) -> int:
    """Start ``python -m devstack supervise`` in the background; returns its pid once its state
    file shows it watching."""
    log_file = profile.log_file("supervisor")
    cmd = [str(paths.venv_bin("python")), "-m", "devstack", "supervise", "--profile", profile.name]
    proc = ManagedProcess.spawn(
        "supervisor",
        cmd,
        log_file=log_file,
        pid_file=None,  # its state file (run/supervisor.json) records it
        env=dict(os.environ),  # DEVSTACK_PORT_OFFSET and all
        cwd=paths.ROOT,
        die_with_parent=False,
    )
    deadline = time.monotonic() + SUPERVISOR_START_TIMEOUT
    while time.monotonic() < deadline:
        state = supervisor.read_state(profile)
        if state is not None and state.get("pid") == proc.pid:
            return proc.pid
        if not proc.is_running():
            break
        time.sleep(0.1)
    proc.stop(5)
    raise StackError(
        f"the supervisor did not start (log: {log_file}):\n{proc.log_tail()}",
        process="supervisor",
        log_file=log_file,
    )


def _supervision_line(profile: Profile, state: dict | None) -> str:
    if state is None:
        return (
            "supervisor: not running; a process that dies stays down "
            f"(restart the stack: python -m devstack down/up --profile {profile.name})"
        )
    how = "make run, in the foreground" if state.get("mode") == "run" else "make up"
    return (
        f"supervisor: pid {state['pid']} ({how}) since {state.get('started_at', '?')}; "
        "restarts a process that dies (1 s, doubling to 30 s)"
    )


def cmd_up(args: argparse.Namespace) -> int:
    profile = _profile(args)
    existing = Stack.attach(profile)
    if existing.processes:
        state = supervisor.read_state(profile)
        print(f"the {profile.name} stack is already up:")
        print(existing.table(state["processes"] if state else None))
        print(_supervision_line(profile, state))
        return 0
    stack = Stack(profile, detached=True)
    try:
        t0 = time.monotonic()
        stack.start_all(keycloak=True, console=_with_console(), monitoring=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stack.stop_all()
        return 130
    seconds = time.monotonic() - t0
    _first_start_demo(profile, args.demo)
    _print_started(stack, seconds)
    try:
        pid = _start_supervisor(profile)
    except StackError as exc:
        print(f"error: the stack is up but not supervised: {exc}", file=sys.stderr)
        return 1
    print(
        f"supervisor: pid {pid} restarts a process that dies "
        f"(log: {profile.log_file('supervisor').relative_to(paths.ROOT)})"
    )
    print(f"stop it with `make down` (python -m devstack down --profile {profile.name})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    profile = _profile(args)
    # The supervisor first, or it would restart what is being stopped.
    supervisor_pid = supervisor.stop_supervisor(profile)
    if supervisor_pid is not None:
        print(f"stopped the supervisor (pid {supervisor_pid})")
    stack = Stack.attach(profile)
    if not stack.processes:
        if supervisor_pid is None:
            print(f"the {profile.name} stack is not running")
        return 0
    names = sorted(stack.processes)
    codes = stack.stop_all(timeout=args.timeout)
    supervisor.clear_stop_marks(profile)
    for name in names:
        code = codes.get(name)
        print(f"stopped {name}" + ("" if code is None else f" (exit {code})"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    profile = _profile(args)
    stack = Stack.attach(profile)
    state = supervisor.read_state(profile)
    if not stack.processes and state is None:
        print(f"the {profile.name} stack is not running")
        return 3
    print(stack.table(state["processes"] if state else None))
    print(_supervision_line(profile, state))
    if stack.process("keycloak") is not None:
        print(_sign_in_help(profile))
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    return supervisor.supervise(_profile(args))


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    if not roles:
        print("error: at least one --role is needed", file=sys.stderr)
        return 2
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    if "service" in roles and not args.sub.startswith("service:"):
        print("error: a service token needs --sub service:<calling service>", file=sys.stderr)
        return 2
    try:
        print(mint_token(roles, sites, args.sub, ttl_seconds=args.ttl))
    except ValueError as exc:  # a lifetime the services would refuse
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    """Print the service's environment (only what devstack adds) as shell exports."""
    import os
    import shlex

    env = service_env(_profile(args), args.service)
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

    p = sub.add_parser(
        "setup",
        help="build FerretDB, Mailpit, Prometheus, Alertmanager; fetch the Kafka jars and "
        "Keycloak; make the dev keys",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument(
        "--only",
        action="append",
        choices=[step.name for step in build.steps()],  # every step, none forgotten
        help="run only this step (repeatable)",
    )
    p.set_defaults(func=cmd_setup)

    demo_help = "load the demo organisation on the first start of an empty dev stack (default)"
    p = with_profile(sub.add_parser("run", help="run the whole platform in the foreground"))
    p.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True, help=demo_help)
    p.set_defaults(func=cmd_run)
    p = with_profile(sub.add_parser("up", help="start the whole platform in the background"))
    p.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True, help=demo_help)
    p.set_defaults(func=cmd_up)
    p = with_profile(
        sub.add_parser("demo", help="load the demo organisation into the running stack")
    )
    p.set_defaults(func=cmd_demo)
    p = with_profile(sub.add_parser("down", help="stop what `up` started"))
    p.add_argument("--timeout", type=float, default=None, help="seconds before SIGKILL")
    p.set_defaults(func=cmd_down)
    p = with_profile(sub.add_parser("status", help="show what `up` started"))
    p.set_defaults(func=cmd_status)
    p = with_profile(
        sub.add_parser("supervise", help="(started by `up`) restart stack processes that die")
    )
    p.set_defaults(func=cmd_supervise)

    p = sub.add_parser("token", help="print a dev JWT (RS256, dev key)")
    p.add_argument("--role", action="append", required=True, help="role (repeat or a,b)")
    p.add_argument("--sites", default="", help="comma-separated site ids")
    p.add_argument("--sub", default="dev-user", help="subject (default: dev-user)")
    p.add_argument(
        "--ttl", type=int, default=3600, help="lifetime in seconds (at most 12 h, 43200)"
    )
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
