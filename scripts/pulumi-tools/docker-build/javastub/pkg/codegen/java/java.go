// Package java holds the one type pulumi-docker-build's provider refers to.
package java

// PackageInfo is the schema's language.java section: only these fields are set by the provider.
type PackageInfo struct {
	BuildFiles                      string            `json:"buildFiles,omitempty"`
	GradleNexusPublishPluginVersion string            `json:"gradleNexusPublishPluginVersion,omitempty"`
	Dependencies                    map[string]string `json:"dependencies,omitempty"`
}
