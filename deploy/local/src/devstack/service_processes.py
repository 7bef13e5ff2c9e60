"""The services' processes (an api under gunicorn and a worker per service), the staff console
and extra processes a test starts (a private database, say): their command lines, readiness
probes and start-up."""

from __future__ import annotations

import time
from collections.abc import Callable

from . import paths, ready
from .environment import console_env, service_env
from .process import ManagedProcess
from .process_group import SERVICE_STOP_TIMEOUT, ProcessGroup, process_key
from .profile import CONSOLE, HOST, KINDS, check_service, module_name


class ServiceProcesses(ProcessGroup):
    """Starts the service, console and extra processes of a :class:`devstack.Stack`."""

    def service_command(self, service: str, kind: str, port: int | None = None) -> list[str]:
        """The command line of a service process; ``port`` overrides the api's profile port."""
        module = module_name(service)
        if kind == "api":
            return [
                str(paths.venv_bin("gunicorn")),
                "--config",
                "python:dbt_shared.gunicorn_conf",
                "--bind",
                f"{HOST}:{port or self.profile.api_port(service)}",
                "--workers",
                "2",
                f"{module}.app:create_app()",
            ]
        if kind == "worker":
            return [str(paths.venv_bin("python")), "-m", f"{module}.worker"]
        raise ValueError(f"unknown process kind {kind!r}; expected 'api' or 'worker'")

    def _service_probe(self, service: str, kind: str) -> Callable[[], bool]:
        if kind == "api":
            url = f"{self.profile.api_url(service)}/healthz"
            return lambda: ready.http_ok(url)
        url = self.profile.worker_metrics_url(service)
        return lambda: ready.http_answers(url)

    def _spawn_service(self, service: str, kind: str) -> ManagedProcess:
        check_service(service)
        key = process_key(service, kind)
        port = (
            self.profile.api_port(service)
            if kind == "api"
            else self.profile.worker_metrics_port(service)
        )
        cmd = self.service_command(service, kind)
        self.profile.log_dir.mkdir(parents=True, exist_ok=True)
        self.profile.run_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports_free(key, [port])
        return self._spawn(
            key,
            cmd,
            env=service_env(self.profile, service, kind),
            stop_timeout=SERVICE_STOP_TIMEOUT,
        )

    def start_service(self, service: str, kind: str = "api", timeout: float = 60.0):
        """Start one service process (``kind`` is ``api`` or ``worker``) and wait until it is
        ready: the api answers ``GET /healthz`` with 200, the worker's metrics port answers.
        Returns the running handle (the same one if it is already running)."""
        check_service(service)
        if kind not in KINDS:
            raise ValueError(f"unknown process kind {kind!r}; expected 'api' or 'worker'")
        with self._lock:
            key = process_key(service, kind)
            existing = self.processes.get(key)
            if existing is not None and existing.is_running():
                return existing
            proc = self._spawn_service(service, kind)
            try:
                self._await(proc, self._service_probe(service, kind), time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc

    def console_command(self, port: int | None = None) -> list[str]:
        """The console (services/console) under gunicorn, like the services' apis."""
        return [
            str(paths.venv_bin("gunicorn")),
            "--config",
            "python:dbt_shared.gunicorn_conf",
            "--bind",
            f"{HOST}:{port or self.profile.console_port}",
            "--workers",
            "2",
            "console.app:create_app()",
        ]

    def start_console(self, timeout: float = 60.0) -> ManagedProcess:
        """Start the staff console (unless it runs) and wait until ``GET /healthz`` answers
        200. It signs people in through Keycloak and calls the four apis: start those first."""
        with self._lock:
            existing = self.processes.get(CONSOLE)
            if existing is not None and existing.is_running():
                return existing
            self.profile.log_dir.mkdir(parents=True, exist_ok=True)
            self.profile.run_dir.mkdir(parents=True, exist_ok=True)
            self._check_ports_free(CONSOLE, [self.profile.console_port])
            proc = self._spawn(
                CONSOLE,
                self.console_command(),
                env=console_env(self.profile),
                stop_timeout=SERVICE_STOP_TIMEOUT,
            )
            url = f"{self.profile.console_url}/healthz"
            try:
                self._await(proc, lambda: ready.http_ok(url), time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc

    def start_process(
        self,
        name: str,
        cmd: list[str],
        *,
        probe: Callable[[], bool],
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> ManagedProcess:
        """Start an extra process (a test's private database, say), wait for ``probe``."""
        with self._lock:
            proc = self._spawn(name, cmd, env=env, stop_timeout=SERVICE_STOP_TIMEOUT)
            try:
                self._await(proc, probe, time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc
