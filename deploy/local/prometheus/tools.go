//go:build tools

// Package tools pins the Prometheus version built by `python -m devstack setup`
// (go build -o .local/bin/promtool github.com/prometheus/prometheus/cmd/promtool, and likewise
// cmd/prometheus).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
