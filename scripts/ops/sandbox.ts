/**
 * npm run shell|logs|agent -- <sandbox> [...] [--stack NAME]
 * Opens a shell in a sandbox, prints its logs or runs the agent in it, on the stack's engine (docker.host)
 * or cluster (kubernetes), after checking the sandbox exists and runs (on a cluster: is Ready), so a
 * mistake gets its fix instead of the engine's or the API server's error.
 */
import { USAGE, unavailableMessage, VERBS, type Verb } from "./person-commands";
import { siteFor } from "./site-for-stack";
import { OpsError, readStack, runScript, sandboxNamed, stackFromArgs } from "./stack-outputs";

if (require.main === module) {
  const verb = process.argv[2] as Verb;
  runScript(verb ?? "sandbox", async () => {
    if (!VERBS.includes(verb)) throw new OpsError(`the first argument must be one of ${VERBS.join(", ")}`);
    const { stack: stackName, rest } = stackFromArgs(process.argv.slice(3));
    const stack = await readStack(stackName);
    const [name, info] = sandboxNamed(stack, rest[0], USAGE[verb]);
    const site = siteFor(stack);
    const presence = await site.presence(info);
    const problem = unavailableMessage(verb, stackName, name, presence.state, { notReady: presence.notReady, workload: site.workload });
    if (problem) throw new OpsError(problem);
    return site.attach(verb, info, rest.slice(1));
  });
}
