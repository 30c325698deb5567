//go:build tools

package tools

import _ "github.com/pulumi/pulumi-docker/provider/v5/cmd/pulumi-resource-docker"
