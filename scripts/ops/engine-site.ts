/**
 * The sandboxes on a Docker engine (the stack's `docker.host`, else DOCKER_HOST or the local socket), as the
 * ops verbs see them: read with dockerode (engine-facts.ts); a shell, the logs and the agent run through the
 * engine's CLI, which the person's terminal attaches to.
 */
import { spawnSync } from "node:child_process";
import { environmentTarget, typedCommand } from "../../components/engine/client";
import { engineAddressOf } from "../../components/engine/engine-check";
import { checkHealthNow, engineFor, engineUnreachable, inspectOrMissing, sandboxFacts } from "./engine-facts";
import { personCommand } from "./person-commands";
import { DOCKER_CONTAINER } from "./refresh-plan";
import type { SandboxSite } from "./sandbox-site";
import type { OpsStack } from "./stack-outputs";

export function engineSite(stack: OpsStack, env: NodeJS.ProcessEnv = process.env): SandboxSite {
  const engine = engineFor(stack.engine);
  return {
    address: { ...engineAddressOf(environmentTarget(stack.engine.env), env), check: typedCommand(stack.engine, ["info"]) },
    workload: DOCKER_CONTAINER,
    unreachable: () => engineUnreachable(engine),
    facts: async (sandboxes) => {
      await checkHealthNow(
        stack.engine,
        Object.values(sandboxes).map((info) => info.container),
      );
      // In parallel: a stats sample takes the engine about a second.
      return Promise.all(Object.entries(sandboxes).map(([name, info]) => sandboxFacts(engine, name, info)));
    },
    presence: async (info) => {
      const inspected = await inspectOrMissing(engine, info.container);
      return { state: inspected?.State.Status ?? "missing", id: inspected?.Id };
    },
    attach: async (verb, info, extra) =>
      spawnSync("sh", ["-c", personCommand(verb, info, stack.engine, extra)], { stdio: "inherit", env: { ...process.env, ...stack.engine.env } }).status ?? 1,
  };
}
