//go:build tools

// Keeps the buildx CLI plugin's main package in this module's build list; the script builds it by
// import path.
package tools

import _ "github.com/docker/buildx/cmd/buildx"
