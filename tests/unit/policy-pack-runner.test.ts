/**
 * Boots policy/ the way `pulumi preview --policy-pack policy` does (Pulumi's run-policy-pack runner,
 * started in the pack folder, compiling TypeScript itself) and talks to it over the analyzer gRPC API.
 * Proves the pack loads with its dependencies taken from the repository root's node_modules.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACKNOWLEDGED_UNSAFE_LABEL } from "../../components/guardrails/host-paths";
import { CONTAINER_TYPE, hardeningPolicies, stackPolicies } from "../../policy/policies";

// The gRPC runtime and protobuf well-known types are @pulumi/pulumi's own dependencies: load its copies.
const fromPulumi = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc: typeof import("@grpc/grpc-js") = fromPulumi("@grpc/grpc-js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb") as typeof import("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb") as typeof import("google-protobuf/google/protobuf/empty_pb");

const policyDir = path.resolve(__dirname, "../../policy");
const MANDATORY = 1; // pulumirpc.EnforcementLevel.MANDATORY

/** Starts the runner; `port` resolves with the port the pack's analyzer server prints on stdout. */
function startPack(): { child: ChildProcess; port: Promise<number> } {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [policyDir] });
  // The first argument is the engine address; nothing is logged to it in these calls.
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: policyDir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const port = new Promise<number>((resolve, reject) => {
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      const printed = /^(\d+)\s*$/m.exec(stdout)?.[1];
      if (printed !== undefined) {
        resolve(Number(printed));
      }
    });
    child.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before serving:\n${stdout}\n${stderr}`)));
  });
  return { child, port };
}

describe("policy pack under Pulumi's policy-pack runner", () => {
  let child: ChildProcess | undefined;
  let client: analyzerGrpc.AnalyzerClient;

  beforeAll(async () => {
    const started = startPack();
    // Kept before awaiting so afterAll stops the runner even if it never serves.
    child = started.child;
    client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${await started.port}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(() => {
    client?.close();
    child?.kill();
  });

  it("announces every policy as mandatory", async () => {
    const info = await new Promise<analyzerPb.AnalyzerInfo>((resolve, reject) =>
      client.getAnalyzerInfo(new Empty(), (error, response) => (error ? reject(error) : resolve(response))),
    );
    expect(info.getName()).toBe("agent-sandbox-hardening");
    expect(info.getPoliciesList().length).toBe(hardeningPolicies.length + stackPolicies.length);
    expect(info.getPoliciesList().every((policy) => policy.getEnforcementlevel() === MANDATORY)).toBe(true);
  });

  it("reports a privileged container and honours an acknowledged Docker socket", async () => {
    const request = new analyzerPb.AnalyzeRequest();
    request.setType(CONTAINER_TYPE);
    request.setName("sandbox");
    request.setUrn(`urn:pulumi:dev::agent-sandbox::${CONTAINER_TYPE}::sandbox`);
    const options = new analyzerPb.AnalyzerResourceOptions();
    options.setCustomtimeouts(new analyzerPb.AnalyzerResourceOptions.CustomTimeouts());
    request.setOptions(options);
    request.setProperties(
      Struct.fromJavaScript({
        user: "1000:1000",
        privileged: true,
        memory: 512,
        readOnly: true,
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }],
        labels: [{ label: ACKNOWLEDGED_UNSAFE_LABEL, value: "docker-socket" }],
      }),
    );
    const response = await new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) =>
      client.analyze(request, (error, result) => (error ? reject(error) : resolve(result))),
    );
    const diagnostics = response.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel() }));
    expect(diagnostics).toEqual([{ policy: "not-privileged", level: MANDATORY }]);
  });
});
