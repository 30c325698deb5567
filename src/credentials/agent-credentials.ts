/**
 * The stack's agent credentials (API key, git token) as files in one volume that every sandbox mounts
 * read-only at /run/agent-secrets, where the image's agent-exec and git credential helper read them.
 * The secrets are the stack's, the same for every sandbox, so they are written once per stack.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { labelsFor, physicalName, providerLabels, STACK_OBJECTS, type StackIdentity } from "../engine/naming";
import { cleanEnvPrefix } from "../engine/shell";
import { HARDENED_RUN_FLAGS } from "../hardening/baseline";
import { SECRETS_PATH } from "../policy-contract/host-paths";

export interface AgentCredentialsArgs {
  readonly identity: StackIdentity;
  /** The agent image: its agent user owns the files, readable by nobody else. */
  readonly imageId: pulumi.Input<string>;
  readonly agentUid: number;
  readonly agentGid: number;
  /** Agent API key (Pulumi secret). */
  readonly apiKey?: pulumi.Input<string>;
  /** Git token (Pulumi secret). */
  readonly gitToken?: pulumi.Input<string>;
  /** Environment the docker CLI needs to reach the engine (DOCKER_HOST…); empty for the local engine. */
  readonly dockerEnv: Record<string, string>;
}

/**
 * Writes the files through a throwaway container of the agent image that reads the secrets from stdin:
 * they never appear in a command line, an image layer, a sandbox's `docker inspect`, or a file on the
 * machine running Pulumi. Idempotent, so a key rotation simply re-runs it.
 */
export function credentialsWriteScript(dockerEnv: Record<string, string>): string {
  // An unset secret leaves no file: agent-exec then runs the agent on its own login (a subscription kept
  // in the home volume) and git goes anonymous, instead of both reading an empty credential.
  const writeFiles = `umask 077; read -r key; read -r token; store() { if [ -n "$2" ]; then printf %s "$2" > ${SECRETS_PATH}/$1; else rm -f ${SECRETS_PATH}/$1; fi; }; store api-key "$key"; store git-token "$token"`;
  return `set -eu
printf '%s\\n%s\\n' "\${AGENT_API_KEY:-}" "\${AGENT_GIT_TOKEN:-}" | ${cleanEnvPrefix(dockerEnv)} docker run --rm -i ${HARDENED_RUN_FLAGS.isolation} \\
  ${HARDENED_RUN_FLAGS.privileges} --user "$AGENT_USER" -v "$CREDENTIALS_VOLUME:${SECRETS_PATH}" "$IMAGE" sh -c '${writeFiles}'
`;
}

export class AgentCredentials extends pulumi.ComponentResource {
  /** Name of the volume sandboxes mount read-only. */
  public readonly volumeName: pulumi.Output<string>;
  /** Completes once the files are written; sandboxes start after it. */
  public readonly written: command.local.Command;

  constructor(name: string, args: AgentCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:AgentCredentials", name, {}, opts);
    const volume = new docker.Volume(
      name,
      { name: physicalName(args.identity, STACK_OBJECTS.credentials.name), labels: providerLabels(labelsFor(args.identity)) },
      { parent: this },
    );
    this.written = new command.local.Command(
      `${name}-write`,
      {
        create: credentialsWriteScript(args.dockerEnv),
        environment: {
          ...args.dockerEnv,
          AGENT_USER: `${args.agentUid}:${args.agentGid}`,
          CREDENTIALS_VOLUME: volume.name,
          IMAGE: args.imageId,
          ...(args.apiKey ? { AGENT_API_KEY: pulumi.secret(args.apiKey) } : {}),
          ...(args.gitToken ? { AGENT_GIT_TOKEN: pulumi.secret(args.gitToken) } : {}),
        },
        logging: "none",
      },
      { parent: this },
    );
    this.volumeName = volume.name;
    this.registerOutputs({ volumeName: this.volumeName });
  }
}
