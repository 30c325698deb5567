/**
 * The CrossGuard policies: one mandatory ResourceValidationPolicy per rule in rules.ts. Kept apart from
 * index.ts because constructing a PolicyPack starts the analyzer server, which tests must not do.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { WorkspaceView } from "../components/guardrails/protected-paths";
import { unpinnedSandboxImages } from "./image-pinning";
import { type KernelIsolationConfig, kernelIsolationViolations, stackOfUrn } from "./kernel-isolation";
import { podContainerViews, podViolations } from "./pod-inputs";
import { CONTAINER_RULES, type ContainerRule, ruleViolations } from "./rules";

/** The Pulumi type token of @pulumi/docker's Container. */
export const CONTAINER_TYPE = "docker:index/container:Container";

/** Policy config of the rules that judge host paths: `{"<policy>": {"homeDir": "/home/alice"}}` via --policy-pack-config. */
interface HostConfig {
  readonly homeDir?: string;
}

/** The policy runs beside the program, on the Docker host, so it reads the workspace the container binds. */
const HOST_FILESYSTEM: WorkspaceView = {
  exists: (hostPath) => fs.existsSync(hostPath),
  realPath: (hostPath) => {
    try {
      return fs.realpathSync(hostPath);
    } catch {
      return hostPath;
    }
  },
};

function policyFor(rule: ContainerRule): ResourceValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    configSchema: rule.readsHomeDir
      ? { properties: { homeDir: { type: "string", description: "Home folder binds are judged against (default: the CLI user's)." } } }
      : undefined,
    validateResource: (args, reportViolation) => {
      const homeDir = args.getConfig<HostConfig>().homeDir ?? os.homedir();
      for (const { at, inputs } of judgedContainers(args.type, args.props)) {
        for (const message of ruleViolations(rule, inputs, { homeDir, workspace: HOST_FILESYSTEM })) reportViolation(`${at}${message}`);
      }
    },
  };
}

/** The containers a resource declares, as the rules read them: a Docker container itself, a workload's by pod-inputs.ts. */
function judgedContainers(type: string, props: Record<string, unknown>): { at: string; inputs: Record<string, unknown> }[] {
  if (type === CONTAINER_TYPE) return [{ at: "", inputs: props }];
  return podContainerViews(type, props).map((view) => ({ at: `${view.at}: `, inputs: view.inputs }));
}

/** kernel-isolation: configured per pack run with the stacks that must use gVisor (none by default). */
const kernelIsolationPolicy: ResourceValidationPolicy = {
  name: "kernel-isolation",
  description: "Sandboxes of the stacks named in this policy's config run under gVisor (runtime runsc), not on the host's kernel.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { stacks: { type: "array", items: { type: "string" }, description: "Stacks that must use gVisor; `*` matches any characters." } },
  },
  validateResource: (args, reportViolation) => {
    for (const { at, inputs } of judgedContainers(args.type, args.props)) {
      for (const message of kernelIsolationViolations(inputs, stackOfUrn(args.urn), args.getConfig<KernelIsolationConfig>()))
        reportViolation(`${at}${message}`);
    }
  },
};

/** no-service-account-token: what only a pod can get wrong (pod-inputs.ts). */
const serviceAccountTokenPolicy: ResourceValidationPolicy = {
  name: "no-service-account-token",
  description: "Sandbox pods must not mount a service account token, which the agent could use against the cluster's API server.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const message of podViolations(args.type, args.props)) reportViolation(message);
  },
};

export const hardeningPolicies: ResourceValidationPolicy[] = [...CONTAINER_RULES.map(policyFor), kernelIsolationPolicy, serviceAccountTokenPolicy];

/** The stack-level rules: what only the whole stack shows (whether it pushes to a registry). */
export const stackPolicies: StackValidationPolicy[] = [
  {
    name: "image-pinned-by-digest",
    description: "A stack that pushes its image to a registry runs every sandbox on that image by digest, never by a tag.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      const resources = args.resources.map((resource) => ({ type: resource.type, name: resource.name, props: resource.props }));
      for (const message of unpinnedSandboxImages(resources)) reportViolation(message);
    },
  },
];
