/**
 * Names a sandbox may list under `acknowledgeUnsafe` to accept a setting that weakens isolation. The
 * container-level ones are shared with the policy pack (guardrails/host-paths.ts), which reads them
 * back from the container's acknowledgement label; open egress is a network matter the policy cannot see.
 */
import type { UnsafeAcknowledgement } from "../guardrails/host-paths";

/** A setting that weakens a sandbox's isolation, accepted only when its `acknowledgeUnsafe` names it. */
export const UnsafeSetting = {
  /** Mounting the Docker socket gives the agent root on the host. */
  DockerSocket: "docker-socket",
  /** Privileged mode gives the agent every host device and capability. */
  Privileged: "privileged",
  /** The host network lets the agent reach every service on the host and its networks. */
  HostNetwork: "host-network",
  /** The host PID namespace lets the agent see and signal host processes. */
  HostPid: "host-pid",
  /** The host IPC namespace exposes host shared memory. */
  HostIpc: "host-ipc",
  /** The host user namespace undoes user-namespace remapping. */
  HostUserns: "host-userns",
  /** Added capabilities widen what a compromised agent can do to the kernel. */
  AddedCapabilities: "added-capabilities",
  /** Running as root inside the sandbox makes every container escape a host root escape. */
  RootUser: "root-user",
  /** Mounting / exposes the whole host filesystem. */
  HostRootMount: "host-root-mount",
  /** Mounting your whole home folder exposes every key and token you own. */
  HomeFolderMount: "home-folder-mount",
  /** A read-write workspace without its protected paths lets the agent plant hooks and tasks your machine runs. */
  UnprotectedWorkspace: "unprotected-workspace",
  /** The git token in the sandbox lets a hijacked agent push anywhere the token may. */
  CredentialsInSandbox: "credentials-in-sandbox",
  /** Open egress lets the agent send your code anywhere. */
  OpenEgress: "open-egress",
} as const satisfies Record<string, UnsafeAcknowledgement | "open-egress">;
export type UnsafeSetting = (typeof UnsafeSetting)[keyof typeof UnsafeSetting];

/** Why each setting is unsafe, for the refusal message. */
export const UNSAFE_ITEMS: Record<UnsafeSetting, string> = {
  "docker-socket": "mounting the Docker socket gives the agent root on the host",
  privileged: "privileged mode gives the agent every host device and capability",
  "host-network": "the host network lets the agent reach every service on the host and its networks",
  "host-pid": "the host PID namespace lets the agent see and signal host processes",
  "host-ipc": "the host IPC namespace exposes host shared memory",
  "host-userns": "the host user namespace undoes user-namespace remapping",
  "added-capabilities": "added capabilities widen what a compromised agent can do to the kernel",
  "root-user": "running as root inside the sandbox makes every container escape a host root escape",
  "host-root-mount": "mounting / exposes the whole host filesystem",
  "home-folder-mount": "mounting your whole home folder exposes every key and token you own",
  "unprotected-workspace":
    "without its protected paths a read-write workspace lets the agent plant git hooks, git config and editor tasks that your own machine runs later",
  "credentials-in-sandbox": "the git token would be readable inside the sandbox, so a hijacked agent could read it and push wherever the token may",
  "open-egress": "open egress lets the agent send your code anywhere",
};
