// Stand-in for pulumi-dotnet's language host module, which the module proxy here does not serve
// (written for agent-sandbox). pulumi-docker-build imports it only for the type of the "csharp"
// entry in its schema's language section, which matters only when generating a .NET SDK.
module github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3

go 1.21
