//go:build tools

// Package tools pins the etcd built on demand by `make k8s-verify`
// (go build -o .local/bin/etcd go.etcd.io/etcd/server/v3: the etcd binary's main package is the
// server module's root since v3.5).
package tools

import _ "go.etcd.io/etcd/server/v3"
