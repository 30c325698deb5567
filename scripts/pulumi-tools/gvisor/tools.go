//go:build tools

// Keeps runsc's and the containerd shim's main packages in this module's build list; the script
// builds them by import path.
package tools

import (
	_ "gvisor.dev/gvisor/runsc"
	_ "gvisor.dev/gvisor/shim"
)
