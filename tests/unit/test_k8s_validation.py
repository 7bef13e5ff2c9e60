"""Every overlay of the Kubernetes manifests (deploy/k8s), rendered by kustomize, validated the
way an API server would refuse it, without one (``make k8s-verify`` runs a real one):

- each built-in resource strictly against the Kubernetes OpenAPI schemas of the release we
  target (``kubernetes-validate``'s bundle, strict: an unknown or misspelt field fails);
- each custom resource (Strimzi ``Kafka``/``KafkaNodePool``/``KafkaTopic``, the Prometheus
  Operator's ``ServiceMonitor``/``PodMonitor``/``PrometheusRule``, KEDA's ``ScaledObject``, the
  Gateway API's ``HTTPRoute``, ``MongoDBCommunity``) against the ``openAPIV3Schema`` of its CRD,
  as the operators publish them at the versions pinned in ``deploy/local/crds/``, fetched by
  ``make setup`` (``devstack.crds``), with unknown fields refused as the API server's strict
  field validation does. Without the CRDs these tests fail; they never skip.

What a schema cannot say (CEL ``x-kubernetes-validations``, admission) is left to the server.
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource
from test_k8s_console import K8S, render

from devstack import crds
from devstack.errors import StackError

#: The Kubernetes release the manifests target: the API server ``make k8s-verify`` runs (E).
KUBERNETES_VERSION = "1.37.0"
#: Every overlay as shipped, and prod with the optional KEDA component.
OVERLAYS = ("dev", "prod", "prod+keda")
#: The kinds whose schema comes from a CRD, with the group that serves them.
CUSTOM_KINDS = {
    ("kafka.strimzi.io", "Kafka"),
    ("kafka.strimzi.io", "KafkaNodePool"),
    ("kafka.strimzi.io", "KafkaTopic"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
    ("keda.sh", "ScaledObject"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("mongodbcommunity.mongodb.com", "MongoDBCommunity"),
}


def _render_with_components(tmp: Path, overlay: str, components: list[str]) -> list[dict]:
    (tmp / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "overlays" / overlay, tmp)],
                "components": [
                    os.path.relpath(K8S / "components" / name, tmp) for name in components
                ],
            }
        )
    )
    return render(tmp)


@cache
def _rendered(name: str) -> tuple[dict, ...]:
    overlay, *components = name.split("+")
    if not components:
        return tuple(render(K8S / "overlays" / overlay))
    with tempfile.TemporaryDirectory(dir=K8S) as tmp:
        return tuple(_render_with_components(Path(tmp), overlay, components))


class _CrdLoader(yaml.CSafeLoader):
    """YAML 1.1 reads a bare ``=`` as the "value" tag, which PyYAML cannot build; the
    Prometheus Operator's CRDs list it among their enums (a relabelling's operators)."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)


@cache
def _crds() -> dict[tuple[str, str], dict]:
    """The fetched CRDs of the kinds the manifests use, by (group, kind)."""
    try:
        files = crds.crd_files()
    except StackError as exc:
        pytest.fail(str(exc))  # never a skip: CI runs make setup, which fetches them
    found = {}
    for path in files:
        text = path.read_text()
        # Parse only the CRDs of kinds in use (the operators ship megabytes of others).
        group = re.search(r"^  group: (\S+)$", text, re.M)
        kind = re.search(r"^    kind: (\S+)$", text, re.M)
        if group and kind and (group[1], kind[1]) not in CUSTOM_KINDS:
            continue
        for doc in yaml.load_all(text, Loader=_CrdLoader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                found[(spec["group"], spec["names"]["kind"])] = doc
    return found


def _group(doc: dict) -> str:
    return doc["apiVersion"].rpartition("/")[0]


def strict_schema(schema: dict) -> dict:
    """A CRD's structural schema as JSON Schema, strict as the API server's field validation:
    an object that lists its properties takes no others unless it says it preserves unknown
    fields; ``nullable`` admits null; ``x-kubernetes-int-or-string`` an integer or a string."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    out.pop("nullable", None)
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in schema:
        out["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and (
            "additionalProperties" not in schema
        ):
            out["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        out["items"] = strict_schema(schema["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [strict_schema(s) for s in schema[key]]
    if "not" in schema:
        out["not"] = strict_schema(schema["not"])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@cache
def _validator(group: str, kind: str, version: str) -> jsonschema.Validator:
    crd = _crds().get((group, kind))
    assert crd is not None, f"no CRD of {group}/{kind} among the fetched ones"
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    assert version in served, f"{group}/{kind} serves {sorted(served)}, not {version}"
    schema = strict_schema(served[version]["schema"]["openAPIV3Schema"])
    # metadata is the API server's (ObjectMeta, checked below), whatever the CRD says of it
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def custom_resource_errors(doc: dict) -> list[str]:
    group, version = _group(doc), doc["apiVersion"].rpartition("/")[2]
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in _validator(group, doc["kind"], version).iter_errors(doc)
    ]
    # Its metadata is an ObjectMeta: checked strictly as any built-in resource's.
    errors += builtin_errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]})
    return errors


@cache
def _definitions() -> Registry:
    schemas = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    definitions = schema_contents(f"{schemas}/_definitions.json", KUBERNETES_VERSION)
    return Resource.from_contents(definitions) @ Registry()


@cache
def _builtin_validator(api_version: str, kind: str) -> jsonschema.Validator | None:
    """kubernetes-validate's strict schema of a kind, as ``kubernetes_validate.validate``
    builds it, once per kind (it reads the definitions again on every call: minutes here)."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1
    path = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict/{kind.lower()}-{api}.json"
    try:
        schema = schema_contents(path, KUBERNETES_VERSION)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions()
    return jsonschema.Draft202012Validator(schema, registry=registry)


def builtin_errors(doc: dict) -> list[str]:
    validator = _builtin_validator(doc["apiVersion"], doc["kind"])
    if validator is None:
        return [
            f"{doc['apiVersion']} {doc['kind']} is not served by Kubernetes {KUBERNETES_VERSION}"
        ]
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def _name(doc: dict) -> str:
    return f"{doc['kind']} {doc['metadata']['name']}"


@pytest.fixture(params=OVERLAYS)
def rendered(request) -> tuple[dict, ...]:
    return _rendered(request.param)


def test_every_builtin_resource_is_valid_against_the_kubernetes_schemas(rendered):
    findings = {}
    for doc in rendered:
        if (_group(doc), doc["kind"]) in CUSTOM_KINDS:
            continue
        if errors := builtin_errors(doc):
            findings[_name(doc)] = errors
    assert not findings, findings


def test_every_custom_resource_is_valid_against_its_crd(rendered):
    custom = [doc for doc in rendered if (_group(doc), doc["kind"]) in CUSTOM_KINDS]
    assert custom
    findings = {_name(doc): errors for doc in custom if (errors := custom_resource_errors(doc))}
    assert not findings, findings


def test_every_custom_kind_in_use_has_its_crd():
    kinds = {(_group(d), d["kind"]) for name in OVERLAYS for d in _rendered(name)}
    custom = {k for k in kinds if k in CUSTOM_KINDS}
    assert custom == CUSTOM_KINDS  # every CRD-backed kind the issue names is in some overlay
    assert custom <= set(_crds())
