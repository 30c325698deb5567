/**
 * Rules that depend on which of the stack's secrets are set: where the git token would end up, and
 * whether a run's agent has a key to reach its API with. Checked once the config is parsed, before any
 * resource is declared.
 */
import { AgentAuth, agentProfile } from "../agents";
import type { SecretsPresent } from "../credentials/plan";
import { connectGitHosts } from "../egress/config";
import { gitTokenWantedInside, holdsGitToken } from "../sandbox/git-token";
import type { SandboxKey } from "../sandbox/host-checks";
import type { ParsedStackConfig } from "./stack-schema";

export function credentialProblems(config: ParsedStackConfig, present: SecretsPresent, keyOf: SandboxKey): string[] {
  const problems: string[] = [];
  config.sandboxes.forEach((sandbox, index) => {
    if (gitTokenWantedInside(sandbox, present) && !holdsGitToken(sandbox, present)) {
      const hosts = connectGitHosts(sandbox.egress)
        .map((entry) => entry.host)
        .join(", ");
      problems.push(
        `${keyOf(index, "egress.gitRepos")}: the stack has a gitToken, and git to whole hosts (${hosts}) would read it inside the sandbox, where a hijacked agent could push with it anywhere; list the repositories the agent may fetch and push, e.g. gitRepos: ["github.com/my-org/my-repo"], so the credential proxy adds the token outside the sandbox, or accept the weaker setup with acknowledgeUnsafe: ["credentials-in-sandbox"]`,
      );
    }
  });
  config.runs.forEach((run, index) => {
    const sandbox = config.sandboxes.find((candidate) => candidate.name === run.sandbox);
    const key = sandbox && agentProfile(sandbox.agent).provider.secretKey;
    if (sandbox?.auth === AgentAuth.Proxy && key && !present.apiKeys.includes(key)) {
      problems.push(
        `runs[${index}].sandbox: sandbox "${run.sandbox}" reaches its agent's API through the credential proxy (auth: proxy), but the stack has no ${key}; run: pulumi config set --secret ${key} <key>, or set auth: "subscription" on the sandbox to use a login kept in its home volume`,
      );
    }
  });
  return problems;
}
