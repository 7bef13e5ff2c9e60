// Pins the CRDs of the operators the Kubernetes manifests (deploy/k8s) rely on, as their own
// Go modules publish them. Nothing is built: `python -m devstack setup` runs
// `go mod download -json` on these modules (GOTOOLCHAIN=local, -mod=readonly: exactly go.sum)
// and copies their CRD YAML into .local/crds/ (devstack.crds). Strimzi's come from Maven
// Central instead (strimzi/pom.xml).
module github.com/dbt-platform/devstack/crds

go 1.26.0

require (
	// config/crd/bases: ScaledObject... (v2.21.1 needs Go 1.27)
	github.com/kedacore/keda/v2 v2.21.0
	// config/crd/bases: MongoDBCommunity (the newest version the module proxy serves)
	github.com/mongodb/mongodb-kubernetes-operator v0.9.0
	// example/prometheus-operator-crd: ServiceMonitor, PodMonitor, PrometheusRule...
	github.com/prometheus-operator/prometheus-operator v0.85.0
	// config/crd/standard: HTTPRoute, Gateway... (v1.7 needs a newer Go)
	sigs.k8s.io/gateway-api v1.6.3
)
