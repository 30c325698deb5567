// Stand-in for github.com/pulumi/pulumi-java, which the module proxy here does not serve
// (written for agent-sandbox). pulumi-docker-build imports it only for the type of the "java"
// entry in its schema's language section, which matters only when generating a Java SDK.
module github.com/pulumi/pulumi-java

go 1.21
