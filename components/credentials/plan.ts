/**
 * What a sandbox's credential proxy does, and what the sandbox sees of it: the environment pointing its
 * agent and git there. Whether a sandbox has one at all is its topology's to say (sandbox/topology.ts);
 * these are asked only for a sandbox that does.
 */
import { type Agent, AgentAuth, agentProfile } from "../agents";
import type { GitRepo } from "../egress/git-repos";
import { gitThroughProxyEnvironment } from "./git-rewrite";
import { type CredentialProxyPlan, upstreamOf } from "./nginx-conf";
import { API_BASE_URL, GIT_BASE_URL, PLACEHOLDER_KEY } from "./proxy-contract";

/** Which of the stack's secrets are set (their values are never needed to plan). */
export interface SecretsPresent {
  /** The API key secrets the stack sets (`anthropicApiKey`, `openaiApiKey`). */
  readonly apiKeys: readonly string[];
  readonly gitToken: boolean;
}

/** The settings of a sandbox's config the credential proxy follows. */
export interface CredentialSettings {
  readonly name: string;
  readonly agent: Agent;
  readonly auth: AgentAuth;
  readonly apiUpstream?: string;
  readonly egress: { readonly gitRepos: readonly GitRepo[] };
}

export function credentialProxyPlanFor(sandbox: CredentialSettings, secrets: SecretsPresent): CredentialProxyPlan {
  const { provider } = agentProfile(sandbox.agent);
  const missingKey = `agent-sandbox: the stack has no ${provider.secretKey}, so the credential proxy of sandbox ${sandbox.name} has no key to add; run: pulumi config set --secret ${provider.secretKey} <key>, or set auth: subscription on the sandbox to sign in inside it`;
  return {
    sandboxName: sandbox.name,
    api:
      sandbox.auth === AgentAuth.Proxy
        ? {
            upstream: upstreamOf(sandbox.apiUpstream ?? provider.defaultUpstream),
            provider: provider.name,
            hasKey: secrets.apiKeys.includes(provider.secretKey),
            missingKeyBody: provider.errorBody(missingKey),
          }
        : undefined,
    gitRepos: sandbox.egress.gitRepos,
    hasGitToken: secrets.gitToken,
  };
}

/** The sandbox's side: its agent's API at the proxy with a placeholder key, and git over HTTPS through it. */
export function credentialProxyEnvironment(sandbox: CredentialSettings): Record<string, string> {
  const { api } = agentProfile(sandbox.agent);
  return {
    ...(sandbox.auth === AgentAuth.Proxy ? { [api.baseUrlEnv]: `${API_BASE_URL}${api.baseUrlPath}`, [api.keyEnv]: PLACEHOLDER_KEY } : {}),
    ...(sandbox.egress.gitRepos.length > 0 ? gitThroughProxyEnvironment(GIT_BASE_URL) : {}),
  };
}
