/**
 * Whether the stack's git token would be, or is, inside a sandbox: the weaker setup where git reaches whole
 * hosts by CONNECT and the image's credential helper reads the token from the credentials volume.
 */
import type { SecretsPresent } from "../credentials/plan";
import { connectGitHosts } from "../egress/config";
import type { SandboxConfig } from "./config";
import { sandboxTopology } from "./topology";

/** True when git would need the stack's token inside the sandbox: it has one, a network, and git reaches whole hosts by CONNECT. */
export function gitTokenWantedInside(sandbox: SandboxConfig, secrets: SecretsPresent): boolean {
  return secrets.gitToken && sandboxTopology(sandbox).ownNetwork && connectGitHosts(sandbox.egress).length > 0;
}

/** True when the git token goes inside the sandbox: wanted there, and the config acknowledged `credentials-in-sandbox`. */
export function holdsGitToken(sandbox: SandboxConfig, secrets: SecretsPresent): boolean {
  return gitTokenWantedInside(sandbox, secrets) && sandbox.acknowledgeUnsafe.includes("credentials-in-sandbox");
}
