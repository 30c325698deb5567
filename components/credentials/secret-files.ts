/**
 * The stack's secrets as files in a volume, written once per stack (the secrets are the stack's, the same
 * for every sandbox). Two such volumes exist: the proxy secrets, which only the credential proxies mount
 * (the API key and the git token as nginx lines, and the CAs they trust), and, only where a sandbox's
 * config acknowledges `credentials-in-sandbox`, the sandbox credentials with the git token for the image's
 * credential helper.
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ApiProvider } from "../agents";
import { cliCommand, type EngineClient } from "../engine/client";
import { type EngineObject, LABEL_PREFIX, labelsFor, physicalName, providerLabels, ROLE_LABEL, type StackIdentity } from "../engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import { SECRETS_PATH } from "../guardrails/host-paths";
import { HARDENED_RUN_FLAGS } from "../hardening/baseline";
import { apiKeyFile, EXTRA_CA_FILE, GIT_AUTHORIZATION_FILE, PROXY_SECRETS_PATH, TRUSTED_CA_FILE } from "./proxy-contract";

/** The line after the secrets on the writer's stdin: a secret holding a line break would shift it, and is refused. */
export const END_OF_SECRETS = "--end-of-secrets--";
const CHECK_END = `IFS= read -r end || true; [ "$end" = "${END_OF_SECRETS}" ] || { echo "an API key or gitToken holds a line break, which no key or token has; set it again: pulumi config set --secret <key> <value>" >&2; exit 65; }`;

/** The writer's stdin: each secret (empty when unset) on a line of its own, END_OF_SECRETS, then the rest (the CA bundle); SecretFiles keeps it secret. */
export function secretsOnStdin(secrets: readonly (pulumi.Input<string> | undefined)[], rest?: pulumi.Input<string>): pulumi.Output<string> {
  const lines = pulumi.all([...secrets.map((value) => value ?? ""), END_OF_SECRETS, rest ?? ""]);
  return lines.apply((all) => all.join("\n"));
}

/** The characters an API key may hold: the writer and the Secret's files refuse any other, which could break out of the nginx line. */
const API_KEY_CHARACTERS = /^[A-Za-z0-9._~+/=-]*$/;
const badKeyProblem = (provider: ApiProvider) =>
  `${provider.secretKey} holds characters no API key has (only letters, digits and . _ ~ + / = -); set it again: pulumi config set --secret ${provider.secretKey} <key>`;

/**
 * What the writer container runs, reading one API key per provider (in `providers`' order) and the git token
 * as the first lines of stdin and, after END_OF_SECRETS, the stack's extra CA as the rest. Each key becomes
 * its API's header line (the provider's header and value format). Values are handled by shell builtins only,
 * so they are never an argument of a process; each file is replaced whole (written beside it, then renamed).
 */
export function proxySecretsScript(providers: readonly ApiProvider[]): string {
  const put = (file: string) => `> ${file}.new && mv ${file}.new ${file}`;
  const variable = (provider: ApiProvider) => `key_${provider.name}`;
  const writeKeys = providers.flatMap((provider) => {
    const key = `"$${variable(provider)}"`;
    const file = apiKeyFile(provider.name);
    return [
      `case ${key} in *[!A-Za-z0-9._~+/=-]*) echo "${badKeyProblem(provider)}" >&2; exit 65 ;; esac`,
      `if [ -n ${key} ]; then printf "proxy_set_header ${provider.keyHeader} \\"${provider.keyValuePrefix}%s\\";\\n" ${key} ${put(file)}; else rm -f ${file}; fi`,
    ];
  });
  return [
    "set -eu; umask 077",
    ...providers.map((provider) => `IFS= read -r ${variable(provider)} || true`),
    "IFS= read -r token || true",
    CHECK_END,
    ...writeKeys,
    // Where a single key file was kept before keys were per API.
    `rm -f ${PROXY_SECRETS_PATH}/api-key.conf`,
    `if [ -n "$token" ]; then printf "proxy_set_header Authorization \\"Basic %s\\";\\n" "$(printf "x-access-token:%s" "$token" | base64 -w0)" ${put(GIT_AUTHORIZATION_FILE)}; else rm -f ${GIT_AUTHORIZATION_FILE}; fi`,
    `cat /etc/ssl/certs/ca-certificates.crt - ${put(TRUSTED_CA_FILE)}`,
  ].join("\n");
}

/** The writer of the sandbox credentials: the git token alone (an unset one leaves no file, so git goes anonymous). */
export const SANDBOX_CREDENTIALS_SCRIPT = `set -eu; umask 077; IFS= read -r token || true; ${CHECK_END}; if [ -n "$token" ]; then printf %s "$token" > ${SECRETS_PATH}/git-token; else rm -f ${SECRETS_PATH}/git-token; fi; rm -f ${SECRETS_PATH}/api-key`;

/**
 * The host side: the values arrive on the command's stdin and go on to a throwaway hardened container's
 * stdin, so they never appear in a command line, an environment, an image layer, a sandbox's `docker
 * inspect`, or a file on the machine running Pulumi. Idempotent, so a rotation simply re-runs it; then
 * every running credential proxy of the stack reloads (nginx re-reads its files on SIGHUP).
 */
export function secretFilesWriteScript(engine: EngineClient, inContainer: string): string {
  const cli = cliCommand(engine);
  const label = (name: string, value: string) => `--filter "label=${name}=${value}"`;
  return `set -eu
${cli} run --rm -i ${HARDENED_RUN_FLAGS.isolation} ${HARDENED_RUN_FLAGS.privileges} \\
  --user "$WRITER_USER" -v "$SECRETS_VOLUME:$SECRETS_MOUNT" --entrypoint sh "$IMAGE" -c '${inContainer}'
proxies=$(${cli} ps -q ${label(`${LABEL_PREFIX}.project`, "$PROJECT")} ${label(`${LABEL_PREFIX}.stack`, "$STACK")} ${label(ROLE_LABEL, CREDENTIAL_PROXY_ROLE)})
if [ -n "$proxies" ]; then ${cli} kill --signal HUP $proxies >/dev/null; fi
`;
}

export interface SecretFilesArgs {
  readonly identity: StackIdentity;
  /** The volume, by its name in the stack (naming.ts STACK_OBJECTS). */
  readonly volume: EngineObject;
  /** Image whose `sh` writes the files; its folder at `mountPath` gives a new volume its owner. */
  readonly imageId: pulumi.Input<string>;
  /** `uid:gid` owning the files, readable by nobody else. */
  readonly user: string;
  readonly mountPath: typeof PROXY_SECRETS_PATH | typeof SECRETS_PATH;
  /** proxySecretsScript(…) or SANDBOX_CREDENTIALS_SCRIPT. */
  readonly script: string;
  /** What the script reads on stdin (a Pulumi secret). */
  readonly stdin: pulumi.Output<string>;
  /** The stack's engine, which the writer runs on. */
  readonly engine: EngineClient;
}

export class SecretFiles extends pulumi.ComponentResource {
  /** Name of the volume. */
  public readonly volumeName: pulumi.Output<string>;
  /** Completes once the files are written; what reads them starts after it. */
  public readonly written: command.local.Command;

  constructor(name: string, args: SecretFilesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:SecretFiles", name, {}, opts);
    const volume = new docker.Volume(
      name,
      { name: physicalName(args.identity, args.volume.name), labels: providerLabels(labelsFor(args.identity)) },
      { parent: this },
    );
    this.written = new command.local.Command(
      `${name}-write`,
      {
        create: secretFilesWriteScript(args.engine, args.script),
        environment: {
          ...args.engine.env,
          WRITER_USER: args.user,
          SECRETS_VOLUME: volume.name,
          SECRETS_MOUNT: args.mountPath,
          IMAGE: args.imageId,
          PROJECT: args.identity.project,
          STACK: args.identity.stack,
        },
        stdin: pulumi.secret(args.stdin),
        logging: "none",
      },
      { parent: this },
    );
    this.volumeName = volume.name;
    this.registerOutputs({ volumeName: this.volumeName });
  }
}

/**
 * The proxy secrets as files, for a store that holds files itself (a cluster's Secret): the same lines
 * proxySecretsScript writes, refused on the same characters, and the stack's extra CA on its own (the
 * entrypoint joins it to the image's CAs). Unset secrets leave no file.
 */
export function proxySecretFiles(
  providers: readonly ApiProvider[],
  values: { readonly apiKeys: readonly (string | undefined)[]; readonly gitToken?: string; readonly extraCa?: string },
): Record<string, string> {
  const files: Record<string, string> = {};
  providers.forEach((provider, index) => {
    const key = values.apiKeys[index];
    if (!key) return;
    if (!API_KEY_CHARACTERS.test(key)) {
      throw new Error(badKeyProblem(provider));
    }
    files[path.basename(apiKeyFile(provider.name))] = `proxy_set_header ${provider.keyHeader} "${provider.keyValuePrefix}${key}";\n`;
  });
  if (values.gitToken) {
    if (/[\r\n]/.test(values.gitToken))
      throw new Error("gitToken holds a line break, which no token has; set it again: pulumi config set --secret gitToken <token>");
    const basic = Buffer.from(`x-access-token:${values.gitToken}`).toString("base64");
    files[path.basename(GIT_AUTHORIZATION_FILE)] = `proxy_set_header Authorization "Basic ${basic}";\n`;
  }
  if (values.extraCa) files[path.basename(EXTRA_CA_FILE)] = values.extraCa;
  return files;
}
