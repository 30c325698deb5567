/**
 * The part of a stack that lives on the Docker engine: the stack's secrets volumes (the credential proxies'
 * files, and the git token where a sandbox acknowledged credentials-in-sandbox) and one Sandbox per sandbox.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Agent, ApiProvider } from "../agents";
import type { CredentialProxyPlan } from "../credentials/nginx-conf";
import type { SecretsPresent } from "../credentials/plan";
import { PROXY_SECRETS_PATH } from "../credentials/proxy-contract";
import { proxySecretsScript, SANDBOX_CREDENTIALS_SCRIPT, SecretFiles, secretsOnStdin } from "../credentials/secret-files";
import type { EngineClient } from "../engine/client";
import { STACK_OBJECTS, type StackIdentity } from "../engine/naming";
import { SECRETS_PATH } from "../guardrails/host-paths";
import type { AgentImage } from "../image/agent-image";
import { PROXY_USER, type ProxyImage } from "../image/proxy-image";
import type { SandboxConfig } from "./config";
import { holdsGitToken } from "./git-token";
import { Sandbox } from "./sandbox";

export interface DockerSandboxesArgs {
  readonly sandboxes: readonly SandboxConfig[];
  /** The image's agent user, which writes the sandbox credentials. */
  readonly agentUid: number;
  readonly agentGid: number;
  readonly identity: StackIdentity;
  readonly images: ReadonlyMap<Agent, AgentImage>;
  /** The default agent's image, whose user writes the sandbox credentials. */
  readonly image: AgentImage;
  readonly plans: ReadonlyMap<string, CredentialProxyPlan>;
  readonly proxyImage?: ProxyImage;
  /** The API providers in the order of `apiKeys`. */
  readonly providers: readonly ApiProvider[];
  readonly apiKeys: readonly (pulumi.Output<string> | undefined)[];
  readonly gitToken?: pulumi.Output<string>;
  /** Which secrets are set. */
  readonly present: SecretsPresent;
  readonly extraCaCerts?: pulumi.Output<string>;
  readonly protectedPaths: Record<string, string[]>;
  readonly engine: EngineClient;
}

/** The sandboxes on the Docker engine, with the stack's secrets volumes they and their proxies read. */
export function declareDockerSandboxes(args: DockerSandboxesArgs, inside: pulumi.ComponentResourceOptions): Map<string, Sandbox> {
  const { identity, extraCaCerts, engine, proxyImage, plans, present } = args;
  const proxySecrets =
    proxyImage && plans.size > 0
      ? new SecretFiles(
          "proxy-secrets",
          {
            identity,
            volume: STACK_OBJECTS.proxySecrets,
            imageId: proxyImage.imageId,
            user: PROXY_USER,
            mountPath: PROXY_SECRETS_PATH,
            script: proxySecretsScript(args.providers),
            stdin: secretsOnStdin([...args.apiKeys, args.gitToken], extraCaCerts),
            engine,
          },
          inside,
        )
      : undefined;
  // The git token inside a sandbox: only where its config acknowledged credentials-in-sandbox.
  const sandboxCredentials = args.sandboxes.some((sandbox) => holdsGitToken(sandbox, present))
    ? new SecretFiles(
        "credentials",
        {
          identity,
          volume: STACK_OBJECTS.credentials,
          imageId: args.image.imageId,
          user: `${args.agentUid}:${args.agentGid}`,
          mountPath: SECRETS_PATH,
          script: SANDBOX_CREDENTIALS_SCRIPT,
          stdin: secretsOnStdin([args.gitToken]),
          engine,
        },
        // The volume a stack made before this kept its place: a replacement would delete the volume it shares a name with.
        {
          ...inside,
          aliases: [{ type: "agent-sandbox:index:AgentCredentials" }, { type: "agent-sandbox:index:AgentCredentials", parent: pulumi.rootStackResource }],
        },
      )
    : undefined;
  const written = [sandboxCredentials?.written, proxySecrets?.written].filter((resource) => resource !== undefined);

  // A loop, not map(): the SDK records the whole call stack of every resource it registers (each frame
  // mapped through source maps), so every frame between the program and a sandbox's constructor is paid
  // by each of its resources; map() added two of the 22.
  const sandboxes = new Map<string, Sandbox>();
  for (const sandbox of args.sandboxes) {
    sandboxes.set(
      sandbox.name,
      new Sandbox(
        sandbox.name,
        {
          identity,
          sandbox,
          imageId: args.images.get(sandbox.agent)!.imageId,
          agentUid: args.agentUid,
          agentGid: args.agentGid,
          credentialsVolume: holdsGitToken(sandbox, present) ? sandboxCredentials?.volumeName : undefined,
          credentialProxy: proxySecrets && plans.get(sandbox.name) ? { plan: plans.get(sandbox.name)!, secretsVolume: proxySecrets.volumeName } : undefined,
          startAfter: written,
          engine,
          proxyImageId: proxyImage?.imageId,
          protectedPaths: args.protectedPaths[sandbox.name] ?? [],
        },
        inside,
      ),
    );
  }
  return sandboxes;
}
