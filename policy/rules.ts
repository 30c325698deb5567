/**
 * Hardening rules for `docker:index/container:Container` inputs (the @pulumi/docker v5 ContainerArgs
 * shape), one rule per CrossGuard policy. Pure: tests call them directly; policy/policies.ts wraps them.
 * A Kubernetes workload's containers are read into the same shape (pod-inputs.ts), so the same rules judge
 * a sandbox on a cluster; there the acknowledgement list below is an annotation.
 *
 * ## Acknowledged unsafe settings (contract with the program)
 * A policy cannot read stack config, so a stack that acknowledges an unsafe setting in its config must
 * say so on the container itself:
 *
 *     labels: [{ label: "dev.agent-sandbox.acknowledged-unsafe", value: "privileged,host-network" }]
 *
 * The value is a comma-separated list of names from UNSAFE_ACKNOWLEDGEMENTS (components/guardrails/host-paths.ts);
 * spaces around names are ignored. The program sets exactly the names its stack config acknowledged, and
 * omits the label when there are none. The policy waives exactly the listed findings and still refuses
 * every other one. Names and what each waives:
 *   docker-socket        a bind of an engine socket (mounts or volumes); its folder stays refused (/run, /var/run)
 *   privileged           privileged: true
 *   host-network | host-pid | host-ipc | host-userns   networkMode / pidMode / ipcMode / usernsMode "host"
 *   added-capabilities   a non-empty capabilities.adds (dropping ALL is still required)
 *   root-user            user unset, root or UID 0
 *   host-root-mount      a bind of `/` itself
 *   home-folder-mount    a bind of the home folder itself
 *   unprotected-workspace  protected paths (.git/hooks, .git/config, …) left writable in a read-write workspace;
 *                        the label dev.agent-sandbox.unprotected-paths waives named default paths alone
 *   credentials-in-sandbox  a mount of the stack's credential volumes (or anything at /run/agent-secrets), or a
 *                        key-looking environment variable (by name with a value, or a known key format)
 * Never waivable: keeping capabilities (no drop of ALL), missing no-new-privileges, no memory limit,
 * other sensitive host paths (/etc, /proc, ...), credentials mounted read-write.
 */
import * as path from "node:path";
import { ROLE_LABEL } from "../components/engine/naming";
import { CREDENTIAL_PROXY_ROLE, CREDENTIAL_VOLUME_SUFFIXES, looksLikeSecretEnv } from "../components/guardrails/credentials";
import {
  ACKNOWLEDGED_UNSAFE_LABEL,
  exposesEngineSocket,
  HOST_NAMESPACE_INPUTS,
  HOST_NAMESPACE_MODE,
  isSameOrInside,
  judgeHostBind,
  looksLikeCredentialPath,
  normalizeHostPath,
  SECRETS_PATH,
  type UnsafeAcknowledgement,
} from "../components/guardrails/host-paths";
import { DEFAULT_PROTECTED_PATHS, existingProtectedPaths, UNPROTECTED_PATHS_LABEL, type WorkspaceView } from "../components/guardrails/protected-paths";
import { WORKSPACE_PATH } from "../components/sandbox/contract";
import { asArray, asRecord, asString, containerMounts, hostBinds, labelItems } from "./container-inputs";

export interface RuleOptions {
  /** Home folder of the user running Pulumi: its root, `~/.ssh` and credentials are judged against it. */
  readonly homeDir: string;
  /** The Docker host's filesystem as the workspace rule sees it; without it that rule judges nothing. */
  readonly workspace?: WorkspaceView;
}

/** One problem found by a rule; `acknowledgement` names the label item that waives it, if any. */
export interface Finding {
  readonly message: string;
  readonly acknowledgement?: UnsafeAcknowledgement;
}

export interface ContainerRule {
  /** The policy name: stable, kebab-case. */
  readonly name: string;
  readonly description: string;
  /** Reads only the inputs it judges, so an input unknown during preview skips this rule alone. */
  readonly check: (inputs: Record<string, unknown>, opts: RuleOptions) => Finding[];
  /** Judges host paths against the home folder, so its policy takes the `homeDir` setting. */
  readonly readsHomeDir?: true;
}

const ACK_HINT = (item: UnsafeAcknowledgement) => `or acknowledge it in the stack config (label ${ACKNOWLEDGED_UNSAFE_LABEL}=${item})`;

const UID_ZERO = /^(root|0)(:.*)?$/;

export const CONTAINER_RULES: readonly ContainerRule[] = [
  {
    name: "no-docker-socket",
    readsHomeDir: true,
    description: "Sandbox containers must not mount the container engine's API socket, which is root on the host.",
    check: (inputs, { homeDir }) =>
      hostBinds(inputs)
        .filter((bind) => exposesEngineSocket(bind.source, homeDir))
        .map((bind) => ({
          message: `${bind.at}.source is ${bind.source}, the engine API socket (root on the host); remove the mount, ${ACK_HINT("docker-socket")}`,
          acknowledgement: "docker-socket",
        })),
  },
  {
    name: "not-privileged",
    description: "Sandbox containers must not be privileged (every capability, every host device).",
    check: (inputs) =>
      inputs.privileged === true ? [{ message: `privileged is true; set privileged: false, ${ACK_HINT("privileged")}`, acknowledgement: "privileged" }] : [],
  },
  {
    name: "drop-all-capabilities",
    description: "Sandbox containers must drop every Linux capability (capabilities.drops contains ALL).",
    check: (inputs) => {
      const drops = asArray(asRecord(inputs.capabilities).drops);
      return drops.some((cap) => typeof cap === "string" && cap.toUpperCase() === "ALL")
        ? []
        : [{ message: `capabilities.drops is ${JSON.stringify(drops)}; set capabilities: { drops: ["ALL"] }` }];
    },
  },
  {
    name: "no-added-capabilities",
    description: "Sandbox containers must not add Linux capabilities back (capabilities.adds is empty).",
    check: (inputs) => {
      const adds = asArray(asRecord(inputs.capabilities).adds);
      return adds.length === 0
        ? []
        : [
            {
              message: `capabilities.adds is ${JSON.stringify(adds)}; remove it, ${ACK_HINT("added-capabilities")}`,
              acknowledgement: "added-capabilities",
            },
          ];
    },
  },
  {
    name: "no-new-privileges",
    description: "Sandbox containers must set no-new-privileges so setuid binaries cannot raise privileges.",
    check: (inputs) => {
      const opts = asArray(inputs.securityOpts);
      const accepted = ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"];
      return opts.some((opt) => typeof opt === "string" && accepted.includes(opt.trim()))
        ? []
        : [{ message: `securityOpts is ${JSON.stringify(opts)}; add "no-new-privileges:true"` }];
    },
  },
  {
    name: "non-root-user",
    description: "Sandbox containers must run as a non-root user set explicitly (user is UID:GID, not root or 0).",
    check: (inputs) => {
      const user = asString(inputs.user)?.trim();
      if (user !== undefined && user !== "" && !UID_ZERO.test(user)) {
        return [];
      }
      const shown = user === undefined || user === "" ? "unset (the image default, often root)" : `"${user}"`;
      return [
        {
          message: `user is ${shown}; set user to the workspace owner's UID:GID, e.g. "1000:1000", ${ACK_HINT("root-user")}`,
          acknowledgement: "root-user",
        },
      ];
    },
  },
  {
    name: "read-only-root",
    description:
      "Sandbox containers must have a read-only root filesystem (readOnly; readOnlyRootFilesystem in a pod), so nothing the agent writes outlives the container.",
    check: (inputs) =>
      inputs.readOnly === true
        ? []
        : [{ message: `readOnly is ${JSON.stringify(inputs.readOnly ?? null)}; set readOnly: true (in a pod: readOnlyRootFilesystem: true)` }],
  },
  {
    name: "memory-limit",
    description: "Sandbox containers must have a memory limit (memory in MB, greater than 0).",
    check: (inputs) =>
      typeof inputs.memory === "number" && inputs.memory > 0
        ? []
        : [{ message: `memory is ${JSON.stringify(inputs.memory ?? null)}; set memory to a limit in MB, e.g. 8192` }],
  },
  {
    name: "no-host-namespaces",
    description: "Sandbox containers must not share the host's network, PID, IPC or user namespace.",
    check: (inputs) =>
      (Object.entries(HOST_NAMESPACE_INPUTS) as [UnsafeAcknowledgement, string][])
        .filter(([, input]) => inputs[input] === HOST_NAMESPACE_MODE)
        .map(([acknowledgement, input]) => ({
          message: `${input} is "${HOST_NAMESPACE_MODE}", sharing the host's ${acknowledgement.slice("host-".length)} namespace; remove it, ${ACK_HINT(acknowledgement)}`,
          acknowledgement,
        })),
  },
  {
    name: "no-sensitive-host-paths",
    readsHomeDir: true,
    description:
      "Sandbox containers must not bind-mount /, the home folder itself, system folders (/etc, /run, /proc, /sys, /dev, /boot) or ~/.ssh read-write.",
    check: (inputs, { homeDir }) =>
      hostBinds(inputs).flatMap((bind) => {
        const judgement = judgeHostBind(bind.source, homeDir, bind.readOnly);
        // An engine socket is the no-docker-socket rule's finding, so one acknowledgement covers it.
        if (judgement === undefined || judgement.acknowledgement === "docker-socket") return [];
        const hint = judgement.acknowledgement === undefined ? "" : `, ${ACK_HINT(judgement.acknowledgement)}`;
        return [{ message: `${bind.at}.source: ${judgement.reason}${hint}`, acknowledgement: judgement.acknowledgement }];
      }),
  },
  {
    name: "workspace-protected",
    description:
      "In a read-write workspace, the protected paths that exist (.git/hooks, .git/config, editor tasks, CI workflows, agent settings) must be mounted read-only over it.",
    check: (inputs, { workspace }) => {
      const binds = hostBinds(inputs);
      const bind = binds.find((candidate) => candidate.target === WORKSPACE_PATH && !candidate.readOnly);
      if (!bind || !workspace) return [];
      const unprotected = labelItems(inputs, UNPROTECTED_PATHS_LABEL);
      const paths = DEFAULT_PROTECTED_PATHS.filter((relative) => !unprotected.has(relative));
      return existingProtectedPaths(bind.source, paths, workspace)
        .filter((relative) => !binds.some((other) => other.readOnly && other.target === `${WORKSPACE_PATH}/${relative}`))
        .map((relative) => ({
          message: `${bind.at}: ${relative} exists in the read-write workspace ${bind.source} but is not mounted read-only at ${WORKSPACE_PATH}/${relative}, so the agent could plant code your machine runs; mount it read-only, ${ACK_HINT("unprotected-workspace")}`,
          acknowledgement: "unprotected-workspace" as const,
        }));
    },
  },
  {
    name: "credentials-read-only",
    readsHomeDir: true,
    description: `Credentials must be mounted read-only: whatever is mounted into ${SECRETS_PATH} (the program's credentials volume) and binds of key, token or cloud-login files.`,
    check: (inputs, { homeDir }) =>
      containerMounts(inputs)
        .filter(
          (mount) =>
            !mount.readOnly &&
            (isSameOrInside(normalizeHostPath(mount.target, homeDir), SECRETS_PATH) ||
              (mount.fromHost && mount.source !== undefined && looksLikeCredentialPath(mount.source, homeDir))),
        )
        .map((mount) => ({
          message: `${mount.at} mounts ${mount.source ?? "a tmpfs"} at ${mount.target} read-write, so the agent could alter a credential; set readOnly: true`,
        })),
  },
  {
    name: "credentials-outside-sandbox",
    description: `Sandbox containers must not hold the stack's credentials: no mount of its credential volumes or of ${SECRETS_PATH}, and no key-looking environment variable; the credential proxy adds keys outside the sandbox.`,
    check: (inputs) => {
      if (isCredentialProxy(inputs)) return [];
      const mounts = containerMounts(inputs)
        .filter(
          (mount) =>
            isSameOrInside(path.posix.normalize(mount.target), SECRETS_PATH) ||
            (!mount.fromHost && mount.source !== undefined && CREDENTIAL_VOLUME_SUFFIXES.some((suffix) => mount.source!.endsWith(suffix))),
        )
        .map((mount) => `${mount.at} mounts ${mount.source ?? "a tmpfs"} at ${mount.target}, the stack's credentials, readable by the agent`);
      const envs = asArray(inputs.envs).flatMap((entry, index) => {
        const [name, ...rest] = typeof entry === "string" ? entry.split("=") : [];
        return name !== undefined && looksLikeSecretEnv(name, rest.join("="))
          ? [`envs[${index}] sets ${name} to what looks like a key or token, plain in the container's config and readable by the agent`]
          : [];
      });
      const secrets = asArray(inputs.kubernetesSecrets).map((secret) => `it reads ${String(secret)}, readable by the agent`);
      return [...mounts, ...envs, ...secrets].map((problem) => ({
        message: `${problem}; let the credential proxy add it outside the sandbox (auth: proxy, egress.gitRepos), ${ACK_HINT("credentials-in-sandbox")}`,
        acknowledgement: "credentials-in-sandbox" as const,
      }));
    },
  },
];

/**
 * The credential proxy mounts the proxy secrets by design. It is told apart by its role label and by
 * binding nothing from the host, which no sandbox can do without its workspace.
 */
function isCredentialProxy(inputs: Record<string, unknown>): boolean {
  const role = asArray(inputs.labels).some((label) => asRecord(label).label === ROLE_LABEL && asRecord(label).value === CREDENTIAL_PROXY_ROLE);
  return role && hostBinds(inputs).length === 0;
}

/** Findings of one rule that the container's acknowledgement label does not waive, as messages. */
export function ruleViolations(rule: ContainerRule, inputs: Record<string, unknown>, opts: RuleOptions): string[] {
  const findings = rule.check(inputs, opts);
  // Read the label only when a finding could be waived, so an unknown label leaves other rules running.
  const acknowledged = findings.some((finding) => finding.acknowledgement) ? labelItems(inputs, ACKNOWLEDGED_UNSAFE_LABEL) : new Set<string>();
  return findings.filter((finding) => finding.acknowledgement === undefined || !acknowledged.has(finding.acknowledgement)).map((finding) => finding.message);
}

/** Every unwaived violation of every rule, prefixed with the rule name. */
export function containerViolations(inputs: Record<string, unknown>, opts: RuleOptions): string[] {
  return CONTAINER_RULES.flatMap((rule) => ruleViolations(rule, inputs, opts).map((message) => `${rule.name}: ${message}`));
}
