/**
 * Clone mode: the sandbox works in a clone of the host repository held in a volume, made at its first
 * start from the host's current HEAD and branch; the host repository is mounted read-only only to be
 * cloned. The agent's commits come back as branches only when the developer runs the sandbox's
 * `bringBack` command, which moves them as a git bundle, so no hook of the clone runs and none of its
 * config is read on the host.
 */
import { cliCommand, type EngineClient, typedCommand } from "../engine/client";
import { shellQuote } from "../engine/shell";
import { AGENT_HOME, HOST_REPOSITORY_PATH, WORKSPACE_PATH } from "./contract";

/**
 * Run in the sandbox as the agent user: clone once (a later start finds the clone in its volume), then
 * copy the listed untracked files. `safe.directory` because the host repository's owner may differ.
 */
export function cloneScript(copy: readonly string[]): string {
  const copies = copy.map(
    (file) =>
      `  if [ -e ${shellQuote(`${HOST_REPOSITORY_PATH}/${file}`)} ]; then cp -a ${shellQuote(`${HOST_REPOSITORY_PATH}/${file}`)} ${shellQuote(`${WORKSPACE_PATH}/${file}`)}; fi`,
  );
  return [
    "set -eu",
    `if [ ! -e ${WORKSPACE_PATH}/.git ]; then`,
    `  git -c "safe.directory=*" clone --quiet --no-hardlinks ${HOST_REPOSITORY_PATH} ${WORKSPACE_PATH}`,
    ...copies,
    "fi",
  ].join("\n");
}

/** The shell line that runs the clone script, as the agent user, in the started sandbox the variable CONTAINER names. */
export function cloneExecLine(engine: EngineClient, agentUser: string, script: string): string {
  return `${cliCommand(engine)} exec -u ${shellQuote(agentUser)} -e HOME=${AGENT_HOME} "$CONTAINER" sh -c ${shellQuote(script)}`;
}

/** Branches of the clone become `sandbox/<name>/<branch>` in the host repository. */
export const bringBackRefspec = (sandboxName: string) => `+refs/heads/*:refs/heads/sandbox/${sandboxName}/*`;

/**
 * What a developer types to bring the agent's commits into the host repository: a bundle of the clone's
 * branches, written by git inside the sandbox, fetched on the host with hooks turned off.
 */
export function bringBackCommand(
  engine: EngineClient,
  settings: { container: string; agentUser: string; hostRepository: string; sandboxName: string },
): string {
  const bundle = typedCommand(engine, [
    "exec",
    "-u",
    settings.agentUser,
    "-w",
    WORKSPACE_PATH,
    settings.container,
    "git",
    "bundle",
    "create",
    "-",
    "--branches",
  ]);
  const fetch = `git -C ${shellQuote(settings.hostRepository)} -c core.hooksPath=/dev/null fetch --quiet`;
  // A subshell, so the exit status is the fetch's and the temporary bundle is removed either way.
  return `(f=$(mktemp) && ${bundle} > "$f" && ${fetch} "$f" ${shellQuote(bringBackRefspec(settings.sandboxName))}; status=$?; rm -f "$f"; exit $status)`;
}
