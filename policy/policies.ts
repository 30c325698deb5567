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
      if (args.type !== CONTAINER_TYPE) {
        return;
      }
      const homeDir = args.getConfig<HostConfig>().homeDir ?? os.homedir();
      for (const message of ruleViolations(rule, args.props, { homeDir, workspace: HOST_FILESYSTEM })) {
        reportViolation(message);
      }
    },
  };
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
    if (args.type !== CONTAINER_TYPE) return;
    for (const message of kernelIsolationViolations(args.props, stackOfUrn(args.urn), args.getConfig<KernelIsolationConfig>())) reportViolation(message);
  },
};

export const hardeningPolicies: ResourceValidationPolicy[] = [...CONTAINER_RULES.map(policyFor), kernelIsolationPolicy];

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
