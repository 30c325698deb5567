/**
 * npm run shell|logs|agent -- <sandbox> [...] [--stack NAME]
 * Opens a shell in a sandbox, prints its logs or runs the agent in it, on the stack's engine (docker.host),
 * after checking the sandbox exists and runs, so a mistake gets its fix instead of a docker error.
 */
import { spawnSync } from "node:child_process";
import { engineFor, inspectOrMissing } from "./engine-facts";
import { personCommand, USAGE, unavailableMessage, VERBS, type Verb } from "./person-commands";
import { OpsError, readStack, runScript, sandboxNamed, stackFromArgs } from "./stack-outputs";

if (require.main === module) {
  const verb = process.argv[2] as Verb;
  runScript(verb ?? "sandbox", async () => {
    if (!VERBS.includes(verb)) throw new OpsError(`the first argument must be one of ${VERBS.join(", ")}`);
    const { stack: stackName, rest } = stackFromArgs(process.argv.slice(3));
    const stack = await readStack(stackName);
    const [name, info] = sandboxNamed(stack, rest[0], USAGE[verb]);
    const inspected = await inspectOrMissing(engineFor(stack.engine), info.container);
    const problem = unavailableMessage(verb, stackName, name, inspected?.State.Status ?? "missing");
    if (problem) throw new OpsError(problem);
    const line = personCommand(verb, info, stack.engine, rest.slice(1));
    return spawnSync("sh", ["-c", line], { stdio: "inherit", env: { ...process.env, ...stack.engine.env } }).status ?? 1;
  });
}
