//go:build tools

// Package tools pins the Mailpit version built by `python -m devstack setup`
// (go build -o .local/bin/mailpit github.com/axllent/mailpit).
package tools

import _ "github.com/axllent/mailpit"
