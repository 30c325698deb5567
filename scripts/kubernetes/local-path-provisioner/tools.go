//go:build tools

// The command this module builds, so that `go mod tidy` keeps what it needs.
package tools

import _ "github.com/rancher/local-path-provisioner"
