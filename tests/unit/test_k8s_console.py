"""The Kubernetes manifests (deploy/k8s) as rendered by kustomize: the staff console's
Deployment, Service, HTTPRoute and NetworkPolicies, and the one issuer production trusts.

Each overlay is rendered with ``kubectl kustomize`` (or a standalone ``kustomize build``); the
pods' environment is rebuilt from the rendered ConfigMaps and read by the code's own settings
classes, and the NetworkPolicies are evaluated as Kubernetes does (a flow passes when the
source's egress and the destination's ingress both allow it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import yaml

from console.settings import ConsoleSettings
from dbt_shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
NAMESPACE = "dbt-platform"
SERVICES = ("intake", "skills-group", "coaching", "notifications")
SECRET_PLACEHOLDER = "s" * 40  # a Secret's value, long enough for any key's check


def _kustomize_command(path: Path) -> list[str]:
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize", str(path)]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build", str(path)]
    pytest.fail("the Kubernetes tests need kubectl (Debian's package, .ci/run installs it)")


def render(path: Path) -> list[dict]:
    out = subprocess.run(_kustomize_command(path), capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@cache
def _overlay(name: str) -> tuple[dict, ...]:
    return tuple(render(K8S / "overlays" / name))


def find(docs, kind: str, name: str) -> dict:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in the rendered manifests")


def pod_env(docs, deployment: str, container: int = 0) -> dict[str, str]:
    """The container's environment as the kubelet builds it: its ConfigMaps (envFrom), then its
    own ``env``; a Secret's key becomes a placeholder (checked separately)."""
    spec = find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in spec[container].get("envFrom", []):
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    for var in spec[container].get("env", []):
        env[var["name"]] = var.get("value", SECRET_PLACEHOLDER)
    return env


def secret_refs(docs, deployment: str) -> dict[str, tuple[str, str]]:
    container = find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    return {
        var["name"]: (
            var["valueFrom"]["secretKeyRef"]["name"],
            var["valueFrom"]["secretKeyRef"]["key"],
        )
        for var in container.get("env", [])
        if "secretKeyRef" in var.get("valueFrom", {})
    }


@pytest.fixture(params=["dev", "prod"])
def overlay(request) -> tuple[dict, ...]:
    return _overlay(request.param)


@pytest.fixture
def prod() -> tuple[dict, ...]:
    return _overlay("prod")


# -- the console's Deployment and Service ----------------------------------------------------


def test_the_console_runs_hardened_as_the_services_apis_do(overlay):
    console = find(overlay, "Deployment", "console")["spec"]["template"]["spec"]
    api = find(overlay, "Deployment", "intake-api")["spec"]["template"]["spec"]
    for key in ("securityContext", "automountServiceAccountToken", "volumes"):
        assert console[key] == api[key], key
    assert console["serviceAccountName"] == "console"
    account = find(overlay, "ServiceAccount", "console")
    assert account["automountServiceAccountToken"] is False
    (container,) = console["containers"]
    (api_container,) = api["containers"]
    assert container["securityContext"] == api_container["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["volumeMounts"] == api_container["volumeMounts"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert container["command"][-1] == "console.app:create_app()"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]
    # pinned by the overlay, to the release the services run
    assert container["image"] == api_container["image"].replace("/intake:", "/console:")
    find(overlay, "PodDisruptionBudget", "console")
    assert find(overlay, "HorizontalPodAutoscaler", "console")["spec"]["scaleTargetRef"][
        "name"
    ] == ("console")


def test_the_console_reads_its_settings_from_config_and_its_keys_from_secrets(overlay):
    env = pod_env(overlay, "console")
    refs = secret_refs(overlay, "console")
    assert refs == {
        "MONGODB_URI": ("console-mongodb", "connectionString.standard"),
        "OIDC_CLIENT_SECRET": ("console-secrets", "OIDC_CLIENT_SECRET"),
        "CONSOLE_SECRET_KEY": ("console-secrets", "CONSOLE_SECRET_KEY"),
    }
    with mock.patch.dict(os.environ, env, clear=True):
        settings = ConsoleSettings.from_env()  # the console's own checks (https, key length)
    assert settings.session_idle_s == 900
    assert settings.mongodb_database == "console"
    # Each service URL names a Service of the rendered manifests, on its port.
    assert set(settings.service_urls) == set(SERVICES)
    for name, url in settings.service_urls.items():
        parts = urlsplit(url)
        service = find(overlay, "Service", parts.hostname)
        assert service["spec"]["selector"] == {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/component": "api",
        }
        assert parts.port in [port["port"] for port in service["spec"]["ports"]]
    # The MongoDB operator writes the connection string for a user of the console's database.
    mongodb = find(overlay, "MongoDBCommunity", "dbt-mongodb")
    (user,) = [
        u for u in mongodb["spec"]["users"] if u["connectionStringSecretName"] == "console-mongodb"
    ]
    assert user["roles"] == [{"name": "readWrite", "db": "console"}]


def test_the_console_is_served_at_its_base_url_through_the_gateway(prod):
    route = find(prod, "HTTPRoute", "console")
    base = urlsplit(pod_env(prod, "console")["CONSOLE_BASE_URL"])
    assert base.scheme == "https"
    assert route["spec"]["hostnames"] == [base.hostname]
    (rule,) = route["spec"]["rules"]
    (backend,) = rule["backendRefs"]
    service = find(prod, "Service", backend["name"])
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == backend["port"]]
    assert port["targetPort"] == "http"
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "console",
        "app.kubernetes.io/component": "web",
    }
    # Only the console and the services' public endpoints are routed from outside, under the
    # console's host (which paths exactly: test_k8s_routes.py).
    routes = [d for d in prod if d["kind"] == "HTTPRoute"]
    assert [d["metadata"]["name"] for d in routes] == ["console", "public-endpoints"]
    assert all(d["spec"]["hostnames"] == [base.hostname] for d in routes)
    # The feed links skills-group hands out name that host too (a calendar app is outside).
    feeds = urlsplit(pod_env(prod, "skills-group-api")["PUBLIC_BASE_URL"])
    assert (feeds.scheme, feeds.hostname) == ("https", base.hostname)


# -- NetworkPolicies ---------------------------------------------------------------------------


class Pod:
    def __init__(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespace, self.labels = namespace, labels


OUTSIDE = Pod("", {})  # an address outside the cluster (the identity provider, the internet)
NAMESPACE_LABELS = lambda ns: {"kubernetes.io/metadata.name": ns}  # noqa: E731


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
    return True


def _peer_matches(peer: dict, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return pod is OUTSIDE
    if pod is OUTSIDE:
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], NAMESPACE_LABELS(pod.namespace)):
            return False
    elif pod.namespace != NAMESPACE:
        return False
    return _selects(peer.get("podSelector", {}), pod.labels)


def _rule_allows(rule: dict, peers_key: str, pod: Pod, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if ports and not any(
        p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports
    ):
        return False
    peers = rule.get(peers_key)
    return not peers or any(_peer_matches(peer, pod) for peer in peers)


def _side_allows(policies, pod: Pod, kind: str, other: Pod, port: int, protocol: str) -> bool:
    """Whether ``pod``'s policies of ``kind`` (Ingress/Egress) admit the flow with ``other``."""
    if pod is OUTSIDE or pod.namespace != NAMESPACE:
        return True  # not governed by the platform's policies
    selecting = [
        p
        for p in policies
        if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    return any(
        _rule_allows(rule, peers_key, other, port, protocol)
        for p in selecting
        for rule in p["spec"].get(rules_key, [])
    )


def allowed(docs, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    return _side_allows(policies, source, "Egress", destination, port, protocol) and (
        _side_allows(policies, destination, "Ingress", source, port, protocol)
    )


def pod_of(docs, deployment: str) -> Pod:
    labels = find(docs, "Deployment", deployment)["spec"]["template"]["metadata"]["labels"]
    return Pod(NAMESPACE, labels)


GATEWAY = Pod("gateway-system", {"app": "gateway-proxy"})
INGRESS_NGINX = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
ELSEWHERE = Pod("default", {"app": "anything"})
DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
MONGODB = Pod(NAMESPACE, {"app": "dbt-mongodb-svc"})
KAFKA = Pod(NAMESPACE, {"strimzi.io/cluster": "dbt-kafka", "strimzi.io/kind": "Kafka"})


def test_the_console_is_reached_from_the_gateway_only(prod):
    console = pod_of(prod, "console")
    assert allowed(prod, GATEWAY, console, 8000)
    for source in (INGRESS_NGINX, ELSEWHERE, pod_of(prod, "intake-api"), MONGODB):
        assert not allowed(prod, source, console, 8000)
    assert not allowed(prod, GATEWAY, pod_of(prod, "intake-api"), 8000)  # only the console


def test_the_console_reaches_the_four_apis_its_sessions_the_provider_and_dns_only(prod):
    console = pod_of(prod, "console")
    for service in SERVICES:
        assert allowed(prod, console, pod_of(prod, f"{service}-api"), 8000), service
        assert not allowed(prod, console, pod_of(prod, f"{service}-worker"), 9100), service
    assert allowed(prod, console, MONGODB, 27017)
    assert allowed(prod, console, OUTSIDE, 443)  # the identity provider
    assert allowed(prod, console, DNS, 53, "UDP")
    assert not allowed(prod, console, KAFKA, 9092)
    assert not allowed(prod, console, OUTSIDE, 587)
    assert not allowed(prod, console, OUTSIDE, 80)
    assert not allowed(prod, console, ELSEWHERE, 8080)


def test_the_existing_flows_between_services_are_kept(prod):
    notifications = pod_of(prod, "notifications-worker")
    assert allowed(prod, notifications, pod_of(prod, "intake-api"), 8000)
    assert allowed(prod, pod_of(prod, "intake-worker"), KAFKA, 9092)
    assert not allowed(prod, pod_of(prod, "intake-api"), pod_of(prod, "coaching-api"), 8000)


# -- one trusted issuer ------------------------------------------------------------------------


def _service_deployments(docs) -> list[str]:
    return [
        d["metadata"]["name"]
        for d in docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"].get("app.kubernetes.io/component") in ("api", "worker")
    ]


def test_every_service_trusts_exactly_the_one_configured_issuer(overlay):
    deployments = _service_deployments(overlay)
    assert len(deployments) == 2 * len(SERVICES)
    console_issuer = pod_env(overlay, "console")["OIDC_ISSUER"]
    for name in deployments:
        env = pod_env(overlay, name)
        assert not [k for k in env if k.startswith("AUTH_EXTRA_")], name
        assert "AUTH_PUBLIC_KEY_FILE" not in env and "AUTH_SIGNING_KEY_FILE" not in env, name
        with mock.patch.dict(os.environ, env, clear=True):
            settings = Settings.from_env(env["SERVICE_NAME"])
        (issuer,) = settings.auth.trusted_issuers()
        assert (issuer.issuer, issuer.jwks_url) == (env["AUTH_ISSUER"], env["AUTH_JWKS_URL"])
        assert issuer.site_roles_from == "directory"
        # The console signs staff in where the services check their tokens.
        assert issuer.issuer == console_issuer, name


def test_the_issuer_and_its_keys_are_the_environments_configuration(tmp_path):
    """An environment's overlay names its identity provider once, and every service and the
    console take it (Keycloak itself is not deployed by the project)."""
    issuer = "https://login.clinic.test/realms/staff"
    jwks = issuer + "/protocol/openid-connect/certs"
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "overlays" / "prod", tmp_path)],
                "configMapGenerator": [
                    {
                        "name": "dbt-platform-config",
                        "behavior": "merge",
                        "literals": [f"AUTH_ISSUER={issuer}", f"AUTH_JWKS_URL={jwks}"],
                    },
                    {
                        "name": "console-config",
                        "behavior": "merge",
                        "literals": [f"OIDC_ISSUER={issuer}"],
                    },
                ],
            }
        )
    )
    docs = render(tmp_path)
    for name in _service_deployments(docs):
        env = pod_env(docs, name)
        with mock.patch.dict(os.environ, env, clear=True):
            settings = Settings.from_env(env["SERVICE_NAME"])
        (trusted,) = settings.auth.trusted_issuers()
        assert (trusted.issuer, trusted.jwks_url) == (issuer, jwks), name
    assert pod_env(docs, "console")["OIDC_ISSUER"] == issuer
    assert not any(issuer in str(d) for d in _overlay("prod"))  # not a value of the base
