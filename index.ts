/**
 * agent-sandbox: hardened Docker sandboxes for AI coding agents. This file only composes: config, the
 * agent image, one sandbox per configured entry, the configured agent runs, and the stack outputs.
 */
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import { AgentCredentials } from "./components/agent-credentials";
import { AgentImage } from "./components/agent-image";
import { AgentRun } from "./components/agent-run";
import { AgentSandbox } from "./components/agent-sandbox";
import { EgressProxyImage } from "./components/egress-proxy-image";
import { buildProviderArgs, dockerProviderArgs } from "./components/engine";
import { dockerClientEnvironment } from "./components/shell";
import { loadStackConfig } from "./components/stack-config";
import { applyStackTraceLimit } from "./components/stack-traces";

applyStackTraceLimit();

const { identity, config, secrets, extraCaCerts } = loadStackConfig();
const dockerEnv = dockerClientEnvironment(config.docker);
const providers = [
  new docker.Provider("engine", dockerProviderArgs(config, secrets.registryPassword)),
  new dockerbuild.Provider("builder", buildProviderArgs(config)),
];

const image = new AgentImage(
  "agent",
  { image: config.image, identity, contextDir: "docker/agent", registryPassword: secrets.registryPassword, extraCaCerts },
  { providers },
);

// One proxy image per stack, built only when some sandbox's egress goes through an allowlist proxy.
const egressImage = config.sandboxes.some((sandbox) => sandbox.egress.mode === "allowlist" && !sandbox.hostNetwork)
  ? new EgressProxyImage("egress-proxy", { identity, baseImage: config.image.baseImage, contextDir: "docker/egress-proxy", extraCaCerts }, { providers })
  : undefined;

const credentials = new AgentCredentials(
  "credentials",
  {
    identity,
    imageId: image.imageId,
    agentUid: config.image.agentUid,
    agentGid: config.image.agentGid,
    apiKey: secrets.anthropicApiKey,
    gitToken: secrets.gitToken,
    dockerEnv,
  },
  { providers },
);

const sandboxes = new Map(
  config.sandboxes.map((sandbox) => [
    sandbox.name,
    new AgentSandbox(
      sandbox.name,
      {
        identity,
        sandbox,
        imageId: image.imageId,
        agentUid: config.image.agentUid,
        agentGid: config.image.agentGid,
        credentialsVolume: credentials.volumeName,
        startAfter: [credentials.written],
        dockerEnv,
        egressProxyImageId: egressImage?.imageId,
      },
      { providers },
    ),
  ]),
);

const runs = config.runs.map((run) => {
  const sandbox = sandboxes.get(run.sandbox)!;
  return new AgentRun(`run-${run.name}`, {
    run,
    containerName: sandbox.containerName,
    agentUser: sandbox.agentUser,
    dockerEnv,
    dependsOn: [sandbox.ready],
  });
});

export const agentImage = { ref: image.ref, digest: image.digest, imageId: image.imageId, tags: image.tags };
export const sandboxOutputs = Object.fromEntries(
  [...sandboxes].map(([name, sandbox]) => [
    name,
    {
      container: sandbox.containerName,
      network: sandbox.networkName,
      homeVolume: sandbox.homeVolumeName,
      shell: sandbox.shellCommand,
      runAgent: sandbox.agentCommand,
      deniedEgressLog: sandbox.deniedLogCommand,
    },
  ]),
);
export const runOutputs = Object.fromEntries(
  config.runs.map((run, index) => [
    run.name,
    { success: runs[index].success, result: runs[index].resultText, turns: runs[index].turns, durationMs: runs[index].durationMs, costUsd: runs[index].costUsd },
  ]),
);
