//go:build tools

// Package tools pins the Alertmanager version built by `python -m devstack setup`
// (go build -o .local/bin/alertmanager github.com/prometheus/alertmanager/cmd/alertmanager, and
// likewise cmd/amtool).
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
	_ "github.com/prometheus/alertmanager/cmd/amtool"
)
