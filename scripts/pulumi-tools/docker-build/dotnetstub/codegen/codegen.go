// Package codegen holds the one type pulumi-docker-build's provider refers to.
package codegen

// CSharpPackageInfo is the schema's language.csharp section: only these fields are set by the provider.
type CSharpPackageInfo struct {
	PackageReferences    map[string]string `json:"packageReferences,omitempty"`
	RespectSchemaVersion bool              `json:"respectSchemaVersion,omitempty"`
}
