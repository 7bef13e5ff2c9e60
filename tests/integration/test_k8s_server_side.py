"""``make k8s-verify`` in the suite: every overlay applied with server-side dry-run to a real
kube-apiserver and etcd (``devstack.kubeapi``), the operators' CRDs installed.

The server is what a cluster would be: it refuses what kustomize and a schema check let through
(a registry's own validation, a CRD's schema, an unknown field, a restricted namespace's Pod
Security), and stores nothing on a dry run. The binaries are built from the Go module proxy on
first use (cached under ``.local/bin``); a build that fails fails these tests, never skips them.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from devstack import kube_manifests, kubeapi

NAMESPACE = "dbt-platform"
#: The first test builds etcd and kube-apiserver when their cache is cold (tens of minutes on 2
#: cores; a cached run starts both in seconds): the suite's 300 s would fail a cold CI run.
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def server():
    with kubeapi.running(echo=lambda _line: None) as server:
        yield server


@pytest.fixture(scope="module")
def prod_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(kube_manifests.render("prod")) if d]


def _object_line(doc: dict) -> str:
    """How kubectl names an object in its output: ``<kind>.<group>/<name>``, lower case."""
    group = doc["apiVersion"].rpartition("/")[0] if "/" in doc["apiVersion"] else ""
    kind = doc["kind"].lower() + (f".{group}" if group else "")
    return f"{kind}/{doc['metadata']['name']}"


def test_the_check_covers_every_overlay_and_the_optional_components():
    names = kube_manifests.overlays()
    assert {"dev", "prod", "prod+keda"} <= set(names)
    kinds = {d["kind"] for d in yaml.safe_load_all(kube_manifests.render("prod+keda")) if d}
    assert {"ScaledObject", "HTTPRoute", "PrometheusRule", "KafkaTopic"} <= kinds


@pytest.mark.parametrize("overlay", kube_manifests.overlays())
def test_every_object_of_the_overlay_is_accepted_by_the_api_server(server, overlay):
    manifests = kube_manifests.render(overlay)
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    server.create_namespaces(docs)

    applied = server.dry_run(overlay, manifests)

    assert applied.ok, f"{overlay} refused:\n{applied.errors}\n{applied.output}"
    accepted = "\n".join(applied.accepted)
    for doc in docs:
        assert _object_line(doc) in accepted, f"{_object_line(doc)} not applied:\n{accepted}"


def test_what_the_server_refuses_fails_the_check_naming_the_object(server, prod_docs):
    docs = copy.deepcopy(prod_docs)
    server.create_namespaces(docs)
    topic = next(d for d in docs if d["kind"] == "KafkaTopic")
    topic["spec"]["partitions"] = "six"  # the CRD's schema: an integer
    api = next(d for d in docs if d["kind"] == "Deployment")
    api["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 70000
    service = next(d for d in docs if d["kind"] == "Service")
    service["spec"]["sessionAffinityTimeout"] = 30  # no such field: strict validation

    applied = server.dry_run("prod, broken", yaml.safe_dump_all(docs))

    assert not applied.ok
    assert applied.returncode != 0
    for broken in (topic, api, service):
        assert broken["metadata"]["name"] in applied.errors, applied.errors
    # The others still pass: one refusal does not hide the rest.
    assert len(applied.accepted) == len(docs) - 3


def test_a_pod_template_the_restricted_namespace_would_not_run_fails_the_check(server, prod_docs):
    docs = copy.deepcopy(prod_docs)
    server.create_namespaces(docs)
    worker = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-worker")
    )
    # Allowed by the enforced "baseline", refused by "restricted" (which the namespace warns on
    # and the platform's pods are meant to meet): a capability beyond NET_BIND_SERVICE.
    worker["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"] = {
        "add": ["NET_RAW"],
        "drop": ["ALL"],
    }

    applied = server.dry_run("prod, NET_RAW", yaml.safe_dump_all(docs))

    assert not applied.ok
    assert applied.returncode == 0  # the server accepts it: only the check's reading fails it
    assert any("NET_RAW" in w for w in applied.pod_security_warnings), applied.errors


def test_a_dry_run_stores_nothing(server, prod_docs):
    server.create_namespaces(prod_docs)
    assert server.dry_run("prod", yaml.safe_dump_all(prod_docs)).ok

    listed = server.kubectl(
        "get", "deployments,kafkatopics,httproutes", "-n", NAMESPACE, "-o", "name"
    )

    assert listed.stdout.strip() == ""
