"""Process handles: spawn with a log file and a pid file, stop (SIGTERM, then SIGKILL), kill.

Every process is started in a new session, so it is the leader of its own process group: signals
go to the whole group (gunicorn master and workers alike), and a Ctrl-C in the terminal reaches
only the devstack process, which then stops the children in order. A process can ask for another
stop signal sent to the leader alone: PostgreSQL's postmaster gets SIGINT ("fast shutdown":
SIGTERM would wait for every client to disconnect) and then stops its own children.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - non-Linux
    _LIBC = None


def _die_with_parent(parent_pid: int, sig: int = signal.SIGTERM):
    def preexec() -> None:  # runs in the child between fork and exec (after any user switch)
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent_pid:  # parent already gone
            os._exit(1)

    return preexec


def _proc_start_time(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot), to tell a pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def _pid_alive(pid: int) -> bool:
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def tail(path: Path, lines: int = 40, start: int = 0) -> str:
    """The last ``lines`` lines of a file, from byte offset ``start`` on."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            begin = max(start, size - 64 * 1024)
            fh.seek(begin)
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """Handle of a stack process (infrastructure or service)."""

    def __init__(
        self,
        name: str,
        pid: int,
        *,
        log_file: Path,
        pid_file: Path | None = None,
        popen: subprocess.Popen | None = None,
        log_offset: int = 0,
        start_time: str | None = None,
        stop_timeout: float = 10.0,
        stop_signal: int = signal.SIGTERM,
        stop_group: bool = True,
    ) -> None:
        self.name = name
        self._pid = pid
        self.log_file = log_file
        self.pid_file = pid_file
        self._popen = popen
        self._log_offset = log_offset
        self._start_time = start_time
        self._returncode: int | None = None
        self.stop_timeout = stop_timeout
        #: Sent by :meth:`terminate`: to the whole group, or (``stop_group=False``) the leader.
        self.stop_signal = stop_signal
        self.stop_group = stop_group
        #: Seconds from the first readiness probe until the process answered (set by Stack).
        self.ready_after: float | None = None

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def spawn(
        cls,
        name: str,
        cmd: Sequence[str],
        *,
        log_file: Path,
        pid_file: Path | None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        die_with_parent: bool = True,
        stop_timeout: float = 10.0,
        stop_signal: int = signal.SIGTERM,
        stop_group: bool = True,
        user: tuple[int, int] | None = None,
    ) -> ManagedProcess:
        """Start ``cmd`` in a new session, output appended to ``log_file``. ``user`` is a
        ``(uid, gid)`` to run as (without supplementary groups)."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n===== {stamp} devstack starts {name}: {' '.join(cmd)}\n".encode())
            log.flush()
            offset = log.tell()
            popen = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent(os.getpid(), stop_signal) if die_with_parent else None,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None,
            )
        proc = cls(
            name,
            popen.pid,
            log_file=log_file,
            pid_file=pid_file,
            popen=popen,
            log_offset=offset,
            start_time=_proc_start_time(popen.pid),
            stop_timeout=stop_timeout,
            stop_signal=stop_signal,
            stop_group=stop_group,
        )
        proc._write_pid_file(cmd)
        return proc

    @classmethod
    def from_pid_file(cls, pid_file: Path) -> ManagedProcess | None:
        """Adopt a process recorded by a pid file; None (and the file removed) if it is gone."""
        try:
            info = json.loads(pid_file.read_text())
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError):
            pid_file.unlink(missing_ok=True)
            return None
        recorded = info.get("start_time")
        if not _pid_alive(pid) or (recorded and _proc_start_time(pid) != recorded):
            pid_file.unlink(missing_ok=True)
            return None
        return cls(
            info.get("name", pid_file.stem),
            pid,
            log_file=Path(info.get("log_file", "")),
            pid_file=pid_file,
            start_time=recorded,
            stop_timeout=float(info.get("stop_timeout", 10.0)),
            stop_signal=int(info.get("stop_signal", signal.SIGTERM)),
            stop_group=bool(info.get("stop_group", True)),
        )

    def _write_pid_file(self, cmd: Sequence[str]) -> None:
        if self.pid_file is None:
            return
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.with_suffix(".stopped").unlink(missing_ok=True)
        self.pid_file.write_text(
            json.dumps(
                {
                    "name": self.name,
                    "pid": self._pid,
                    "start_time": self._start_time,
                    "log_file": str(self.log_file),
                    "stop_timeout": self.stop_timeout,
                    "stop_signal": int(self.stop_signal),
                    "stop_group": self.stop_group,
                    "cmd": list(cmd),
                },
                indent=1,
            )
            + "\n"
        )

    # -- state -----------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        """Exit code once the process has ended (None while running or when unknown)."""
        self.is_running()
        return self._returncode

    def is_running(self) -> bool:
        if self._popen is not None:
            code = self._popen.poll()
            if code is None:
                return True
            self._returncode = code
            self._cleanup()
            return False
        alive = _pid_alive(self._pid) and (
            self._start_time is None or _proc_start_time(self._pid) == self._start_time
        )
        if not alive:
            self._cleanup()
        return alive

    def log_tail(self, lines: int = 40) -> str:
        """Last lines this run wrote to its log file."""
        return tail(self.log_file, lines, self._log_offset)

    def describe_exit(self) -> str:
        code = self.returncode
        if code is None:
            return "exited"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"

    # -- control ---------------------------------------------------------------------------

    def send_signal(self, sig: int, *, group: bool = True) -> None:
        """Signal the process group (the process and its children), or the process alone."""
        if not self.is_running():
            return
        if not group:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, sig)
            return
        try:
            os.killpg(self._pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # not a group leader we own: signal the process alone
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, sig)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the process has exited; True if it did within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._popen is not None:
            try:
                self._returncode = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            self._cleanup()
            return True
        while self.is_running():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def kill(self) -> int | None:
        """SIGKILL the process group and wait for the exit."""
        self.send_signal(signal.SIGKILL)
        self.wait(10)
        self.reap_group()
        return self._returncode

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, wait up to ``timeout`` seconds (default: the process's stop timeout), then
        SIGKILL. Returns the exit code when known."""
        self.terminate()
        return self.finish_stop(time.monotonic() + (timeout or self.stop_timeout))

    def terminate(self) -> None:
        """Send the stop signal. With a pid file, first leave a ``<name>.stopped`` mark beside
        it, so a supervisor knows this exit was asked for and does not restart the process."""
        if self.pid_file is not None and self.is_running():
            with contextlib.suppress(OSError):
                self.pid_file.with_suffix(".stopped").write_text(json.dumps({"pid": self._pid}))
        self.send_signal(self.stop_signal, group=self.stop_group)

    @property
    def stopped_on_purpose(self) -> bool:
        """Whether :meth:`terminate` (``stop``), from any process, ended this run."""
        if self.pid_file is None:
            return False
        try:
            info = json.loads(self.pid_file.with_suffix(".stopped").read_text())
        except (OSError, ValueError):
            return False
        return info.get("pid") == self._pid

    def finish_stop(self, deadline: float) -> int | None:
        """Second half of :meth:`stop`: wait until ``deadline`` (monotonic), then SIGKILL."""
        if not self.wait(max(0.0, deadline - time.monotonic())):
            self.send_signal(signal.SIGKILL)
            self.wait(10)
        self.reap_group()
        return self._returncode

    def reap_group(self) -> None:
        # Leftover members of the group (e.g. gunicorn workers whose master died) get SIGKILL.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._pid, signal.SIGKILL)

    def _cleanup(self) -> None:
        if self.pid_file is not None:
            try:
                info = json.loads(self.pid_file.read_text())
                if int(info.get("pid", -1)) == self._pid:
                    self.pid_file.unlink(missing_ok=True)
            except (OSError, ValueError):
                pass

    def __repr__(self) -> str:
        state = "running" if self.is_running() else self.describe_exit()
        return f"<ManagedProcess {self.name} pid={self._pid} {state}>"
