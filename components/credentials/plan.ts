/**
 * Which sandboxes get a credential proxy and what it does, and what the sandbox sees of it: the
 * environment pointing its agent and git there, and whether the git token must be inside instead.
 */
import { agentProfile } from "../agents";
import { AgentAuth } from "../config/choices";
import type { SandboxConfig } from "../config/sections";
import { connectGitHosts } from "../egress/policy";
import { gitThroughProxyEnvironment } from "./git-repos";
import { type CredentialProxyPlan, upstreamOf } from "./nginx-conf";
import { API_BASE_URL, GIT_BASE_URL, PLACEHOLDER_KEY } from "./proxy-contract";

/** Which of the stack's secrets are set (their values are never needed to plan). */
export interface SecretsPresent {
  readonly apiKey: boolean;
  readonly gitToken: boolean;
}

/** A proxy needs a network to be reached on: the sandbox's own (egress allowlist or open). */
function hasOwnNetwork(sandbox: SandboxConfig): boolean {
  return !sandbox.hostNetwork && sandbox.egress.mode !== "none";
}

/** True when the sandbox has a credential proxy: its agent's API under auth proxy, or listed git repositories. */
export function hasCredentialProxy(sandbox: SandboxConfig): boolean {
  return hasOwnNetwork(sandbox) && (sandbox.auth === AgentAuth.Proxy || sandbox.egress.gitRepos.length > 0);
}

export function credentialProxyPlanFor(sandbox: SandboxConfig, secrets: SecretsPresent): CredentialProxyPlan | undefined {
  if (!hasCredentialProxy(sandbox)) return undefined;
  const agent = agentProfile(sandbox.agent);
  const missingKey = `agent-sandbox: the stack has no anthropicApiKey, so the credential proxy of sandbox ${sandbox.name} has no key to add; run: pulumi config set --secret anthropicApiKey <key>, or set auth: subscription on the sandbox to sign in inside it`;
  return {
    sandboxName: sandbox.name,
    api:
      sandbox.auth === AgentAuth.Proxy
        ? {
            upstream: upstreamOf(sandbox.apiUpstream ?? agent.api.defaultUpstream),
            keyHeader: agent.api.keyHeader,
            hasKey: secrets.apiKey,
            missingKeyBody: agent.api.errorBody(missingKey),
          }
        : undefined,
    gitRepos: sandbox.egress.gitRepos,
    hasGitToken: secrets.gitToken,
  };
}

/** The sandbox's side: its agent's API at the proxy with a placeholder key, and git over HTTPS through it. */
export function credentialProxyEnvironment(sandbox: SandboxConfig): Record<string, string> {
  if (!hasCredentialProxy(sandbox)) return {};
  const api = agentProfile(sandbox.agent).api;
  return {
    ...(sandbox.auth === AgentAuth.Proxy ? { [api.baseUrlEnv]: API_BASE_URL, [api.keyEnv]: PLACEHOLDER_KEY } : {}),
    ...(sandbox.egress.gitRepos.length > 0 ? gitThroughProxyEnvironment(GIT_BASE_URL) : {}),
  };
}

/** True when git would need the stack's token inside the sandbox: it has one, and git reaches whole hosts by CONNECT (the image's credential helper). */
export function gitTokenWantedInside(sandbox: SandboxConfig, secrets: SecretsPresent): boolean {
  return secrets.gitToken && hasOwnNetwork(sandbox) && connectGitHosts(sandbox.egress).length > 0;
}

/** True when the git token goes inside the sandbox: wanted there, and the config acknowledged `credentials-in-sandbox`. */
export function holdsGitToken(sandbox: SandboxConfig, secrets: SecretsPresent): boolean {
  return gitTokenWantedInside(sandbox, secrets) && sandbox.acknowledgeUnsafe.includes("credentials-in-sandbox");
}
