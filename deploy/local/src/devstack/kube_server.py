"""etcd and kube-apiserver for one ``make k8s-verify`` run, on loopback under ``.local/kube/``
(wiped at every run), with an admin's static token and kubeconfig: the CRDs installed for real,
the namespaces created, a rendered manifest set applied with server-side dry-run."""

from __future__ import annotations

import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import kube_binaries, paths
from .errors import StackError
from .kube_manifests import kubectl_path
from .process import ManagedProcess
from .profile import HOST, port_offset_from_env
from .tokens import ensure_jwt_keys

#: etcd's client and peer ports and kube-apiserver's secure port; like the test profile's, the
#: usual ports + 10000, then + ``DEVSTACK_PORT_OFFSET``.
ETCD_CLIENT_PORT = 12379
ETCD_PEER_PORT = 12380
APISERVER_PORT = 16443
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
FIELD_MANAGER = "k8s-verify"
READY_TIMEOUT_S = 180.0  # kube-apiserver's first start on a loaded 2-core machine


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int

    @classmethod
    def with_offset(cls, offset: int) -> Ports:
        return cls(ETCD_CLIENT_PORT + offset, ETCD_PEER_PORT + offset, APISERVER_PORT + offset)


def data_dir(offset: int) -> Path:
    return paths.LOCAL_DIR / ("kube" if offset == 0 else f"kube-{offset}")


@dataclass
class Applied:
    """One ``kubectl apply --dry-run=server`` of a rendered manifest set."""

    name: str
    returncode: int
    #: kubectl's stdout: one ``<kind>/<name> serverside-applied (server dry run)`` per object.
    output: str
    #: kubectl's stderr: the server's refusals (``Error from server ...``) and warnings.
    errors: str
    objects: int

    @property
    def accepted(self) -> list[str]:
        return [line for line in self.output.splitlines() if "(server dry run)" in line]

    @property
    def pod_security_warnings(self) -> list[str]:
        return [line for line in self.errors.splitlines() if "would violate PodSecurity" in line]

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and len(self.accepted) == self.objects
            and not self.pod_security_warnings
        )


@dataclass
class KubeApiServer:
    """etcd and kube-apiserver for one check, and a kubeconfig for kubectl."""

    offset: int = field(default_factory=port_offset_from_env)
    echo: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.ports = Ports.with_offset(self.offset)
        self.dir = data_dir(self.offset)
        self.kubeconfig = self.dir / "kubeconfig"
        self.cert_dir = self.dir / "certs"
        self._token = ""
        self._procs: list[ManagedProcess] = []

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.ports.apiserver}"

    # -- start and stop ----------------------------------------------------------------------

    def start(self) -> None:
        missing = [str(s.output) for s in kube_binaries.kube_steps() if not s.output.is_file()]
        if missing:
            raise StackError(
                f"not built: {', '.join(missing)} (run kube_binaries.ensure_kube_binaries)"
            )
        # A run killed before its clean-up (SIGKILL) leaves its servers on our ports: stop them.
        for name in ("kube-apiserver", "etcd"):
            if leftover := ManagedProcess.from_pid_file(self.dir / f"{name}.pid"):
                leftover.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        sa_key, sa_pub = self.dir / "sa.key", self.dir / "sa.pub"
        ensure_jwt_keys(sa_key, sa_pub)
        self._token = secrets.token_urlsafe(32)
        tokens = self.dir / "tokens.csv"
        tokens.write_text(f'{self._token},k8s-verify-admin,k8s-verify-admin,"system:masters"\n')
        tokens.chmod(0o600)
        try:
            self._start_etcd()
            self._start_apiserver(sa_key, sa_pub, tokens)
        except BaseException:
            self.stop()
            raise
        self._write_kubeconfig()

    def _spawn(self, name: str, cmd: Sequence[str]) -> ManagedProcess:
        proc = ManagedProcess.spawn(
            name,
            cmd,
            log_file=self.dir / f"{name}.log",
            pid_file=self.dir / f"{name}.pid",
            stop_timeout=15.0,
        )
        self._procs.append(proc)
        return proc

    def _start_etcd(self) -> None:
        client = f"http://{HOST}:{self.ports.etcd_client}"
        peer = f"http://{HOST}:{self.ports.etcd_peer}"
        proc = self._spawn(
            "etcd",
            [
                str(kube_binaries.ETCD_BIN),
                "--name=k8s-verify",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=k8s-verify={peer}",
                "--log-level=warn",
                # A throwaway store wiped at every run: no fsync (the check's time, not its
                # outcome, depends on the disk).
                "--unsafe-no-fsync",
            ],
        )
        self._wait(proc, lambda: _get(f"{client}/health") is not None, "etcd /health")

    def _start_apiserver(self, sa_key: Path, sa_pub: Path, tokens: Path) -> None:
        proc = self._spawn(
            "kube-apiserver",
            [
                str(kube_binaries.KUBE_APISERVER_BIN),
                f"--etcd-servers=http://{HOST}:{self.ports.etcd_client}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                # The `kubernetes` Service's endpoints refuse a loopback address; nothing here
                # runs in a pod to reach it.
                "--endpoint-reconciler-type=none",
                f"--secure-port={self.ports.apiserver}",
                f"--cert-dir={self.cert_dir}",  # self-signed, for 127.0.0.1 and localhost
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                "--profiling=false",
            ],
        )
        self._wait(proc, lambda: self.get("/readyz") == "ok", "kube-apiserver /readyz")

    def _wait(self, proc: ManagedProcess, ready: Callable[[], bool], what: str) -> None:
        started = time.monotonic()
        deadline = started + READY_TIMEOUT_S
        while True:
            if not proc.is_running():
                raise StackError(f"{proc.name} exited ({proc.describe_exit()}):\n{proc.log_tail()}")
            if ready():
                self.echo(f"[k8s-verify] {what}: ready in {time.monotonic() - started:.1f}s")
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{what} not ready after {READY_TIMEOUT_S:.0f}s:\n{proc.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """kube-apiserver first (it writes to etcd until it stops), then etcd."""
        while self._procs:
            self._procs.pop().stop()

    def __enter__(self) -> KubeApiServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the API -----------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        # The server's --cert-dir file holds its certificate and the CA that signed it.
        return ssl.create_default_context(cafile=str(self.cert_dir / "apiserver.crt"))

    def get(self, path: str) -> str | None:
        """GET ``path`` as the admin; the body, or None while nothing answers 200."""
        if not (self.cert_dir / "apiserver.crt").is_file():
            return None
        return _get(
            self.url + path,
            headers={"Authorization": f"Bearer {self._token}"},
            context=self._ssl_context(),
        )

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "k8s-verify",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority": str(self.cert_dir / "apiserver.crt"),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": self._token}}],
            "contexts": [
                {"name": "k8s-verify", "context": {"cluster": "k8s-verify", "user": "admin"}}
            ],
            "current-context": "k8s-verify",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [
                kubectl_path(),
                f"--kubeconfig={self.kubeconfig}",
                # Discovery cached per run, not in ~/.kube/cache under the same host:port: a
                # cache from an earlier run would not know this run's CRDs.
                f"--cache-dir={self.dir / 'kubectl-cache'}",
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise StackError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
        return result

    def install_crds(self, files: Sequence[Path]) -> list[str]:
        """Create the CRDs (for real) and wait until each is Established; their names."""
        # One kubectl for them all (30 files): each kubectl start costs a second on a busy machine.
        out = self.kubectl(
            "apply",
            "--server-side",
            f"--field-manager={FIELD_MANAGER}",
            *(f"--filename={crd_file}" for crd_file in files),
        )
        names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
        if names:
            self.kubectl("wait", "--for=condition=Established", "--timeout=120s", *names)
        return names

    def create_namespaces(self, docs: Sequence[dict]) -> list[str]:
        """Every namespace the documents use: their Namespace objects applied for real (labels
        included), any other namespace they name created bare."""
        declared = [d for d in docs if d.get("kind") == "Namespace"]
        used = {d["metadata"]["namespace"] for d in docs if d.get("metadata", {}).get("namespace")}
        wanted = {d["metadata"]["name"]: d for d in declared}
        for name in sorted(used - wanted.keys()):
            wanted[name] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        if wanted:
            self.kubectl(
                "apply",
                "--server-side",
                f"--field-manager={FIELD_MANAGER}",
                "-f",
                "-",
                stdin=yaml.safe_dump_all(wanted.values()),
            )
        return sorted(wanted)

    def dry_run(self, name: str, manifests: str) -> Applied:
        """``kubectl apply --server-side --dry-run=server`` of a rendered manifest set."""
        objects = sum(1 for d in yaml.safe_load_all(manifests) if d)
        result = self.kubectl(
            "apply",
            "--server-side",
            "--dry-run=server",
            "--validate=strict",
            f"--field-manager={FIELD_MANAGER}",
            "-f",
            "-",
            stdin=manifests,
            check=False,
        )
        return Applied(name, result.returncode, result.stdout, result.stderr, objects)


def _get(
    url: str, *, headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None
) -> str | None:
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=5, context=context) as resp:
            return resp.read().decode() if resp.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
