//go:build tools

// Keeps BuildKit's daemon and client main packages in this module's build list; the script builds
// them by import path.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
