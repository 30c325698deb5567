/**
 * Which engine answers at the stack's address (runtimes.ts asks it), checked before anything is declared: Podman's Docker API looks
 * like Docker's to a client, but the program renders some settings per engine (the pids limit, the host's
 * name, the internal networks), so a stack declared for one engine must never run on the other. Rootless
 * Podman on a cgroup v1 host ignores every limit, so it is refused with the reason.
 */
import { type Engine, KNOWN_ENGINES } from "./engine";
import type { EngineFacts } from "./runtimes";

/** The problems of a stack declared for `expected` whose address answers as `identity` (at `address`). */
export function engineIdentityProblems(expected: Engine, identity: EngineFacts, address: string): string[] {
  const answering = KNOWN_ENGINES.find((engine) => engine.versionComponent === identity.component);
  if (answering !== undefined && answering.kind !== expected.kind) {
    const fix = answering.kind === "docker" ? "remove docker.engine (or set it to docker)" : `set docker.engine: ${answering.kind}`;
    return [
      `docker.engine: the stack is declared for ${expected.kind}, but ${answering.kind} answers at ${address}; ${fix}, or point docker.host at a ${expected.kind} engine`,
    ];
  }
  if (expected.kind === "podman" && identity.rootless) {
    const why =
      identity.cgroupVersion === "2"
        ? "is not proven with the pids hook and firewall a sandbox needs"
        : `ignores memory, CPU and pids limits on this cgroup v${identity.cgroupVersion || "1"} host`;
    return [
      `docker.engine: the Podman at ${address} runs rootless, which ${why}; use rootful Podman (scripts/setup-engine.sh --podman starts one at ${expected.defaultHost})`,
    ];
  }
  return [];
}

/** What the config asks of an engine that it cannot give, whether or not the engine answers: `gvisorKeys` are the keys asking for gVisor. */
export function engineSettingProblems(docker: { readonly engine?: string; readonly host?: string } | undefined, gvisorKeys: readonly string[]): string[] {
  if (docker?.engine !== "podman") return [];
  const problems = gvisorKeys.map(
    (key) => `${key}: "gvisor" is proven on Docker Engine only; on docker.engine podman set isolation: "container", or move the stack to a Docker engine`,
  );
  if (docker.host !== undefined && !docker.host.startsWith("unix://")) {
    problems.push(
      `docker.host: docker.engine podman is supported at a local socket only (unix://…, the host whose pids hook and firewall scripts/setup-engine.sh --podman installed); "${docker.host}" is not one`,
    );
  }
  return problems;
}
