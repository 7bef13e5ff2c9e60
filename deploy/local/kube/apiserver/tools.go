//go:build tools

// Package tools pins the kube-apiserver built on demand by `make k8s-verify`
// (go build -o .local/bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver).
// k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
// ./staging/...: a module that imports it must replace each with its published
// v0.<minor>.<patch> (go.mod, replace block).
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
