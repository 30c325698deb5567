/**
 * The registries scripts/setup-engine.sh runs on loopback: the plain-HTTP one holding the base images (and,
 * after `--arm64`, their amd64+arm64 lists), and the one a stack pushes to as it would to a user's registry:
 * HTTPS from a CA of the script's own and an htpasswd login, kept in a root-only file the password is read
 * from here (never printed, never on a command line).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";

/** Where setup-engine.sh keeps the TLS registry's login: shell assignments, root only. */
export const REGISTRY_LOGIN_FILE = "/var/lib/agent-sandbox-registry/login.env";
/** The plain-HTTP registry of the base images. */
export const BASE_REGISTRY = "127.0.0.1:5000";
/** The amd64+arm64 lists of the base images setup-engine.sh --arm64 publishes. */
export const MULTIARCH_BASE_IMAGES = {
  baseImage: `${BASE_REGISTRY}/agent-sandbox/debian:bookworm-slim-multiarch`,
  builderImage: `${BASE_REGISTRY}/agent-sandbox/node:bookworm-multiarch`,
} as const;

export const MEDIA_TYPES = {
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
} as const;
const ACCEPT_ANY = Object.values(MEDIA_TYPES).join(", ");

export interface RegistryLogin {
  readonly address: string;
  readonly username: string;
  readonly password: string;
  /** PEM of the CA the registry's certificate comes from. */
  readonly ca: string;
}

export interface RegistryAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One entry of an image index: a platform's manifest (or an attestation, platform unknown/unknown). */
export interface IndexEntry {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { os: string; architecture: string; variant?: string };
}

/** The TLS registry's login, or why there is none (the file is missing or unreadable: run setup-engine.sh as root). */
export function registryLogin(): { available: true; login: RegistryLogin } | { available: false; reason: string } {
  let text: string;
  try {
    text = fs.readFileSync(REGISTRY_LOGIN_FILE, "utf8");
  } catch (error) {
    return { available: false, reason: `no TLS registry login (${(error as Error).message}); run scripts/setup-engine.sh as root` };
  }
  const values = Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]),
  );
  const { REGISTRY_ADDRESS: address, REGISTRY_USERNAME: username, REGISTRY_PASSWORD: password, REGISTRY_CA: caFile } = values;
  if (!address || !username || !password || !caFile)
    return { available: false, reason: `${REGISTRY_LOGIN_FILE} lacks an address, user, password or CA; rerun scripts/setup-engine.sh` };
  return { available: true, login: { address, username, password, ca: fs.readFileSync(caFile, "utf8") } };
}

/** A request to the TLS registry's API, verified against its CA, with the login unless `anonymous`. */
export function tlsRegistryRequest(
  login: RegistryLogin,
  method: string,
  path: string,
  options: { accept?: string; anonymous?: boolean } = {},
): Promise<RegistryAnswer> {
  const [host, port] = login.address.split(":");
  const auth = options.anonymous ? {} : { auth: `${login.username}:${login.password}` };
  return answerOf((done) =>
    https.request({ host, port: Number(port ?? 443), method, path, ca: login.ca, headers: { Accept: options.accept ?? ACCEPT_ANY }, ...auth }, done),
  );
}

/** A request to the plain-HTTP base-image registry. */
export function baseRegistryRequest(method: string, path: string, accept = ACCEPT_ANY): Promise<RegistryAnswer> {
  const [host, port] = BASE_REGISTRY.split(":");
  return answerOf((done) => http.request({ host, port: Number(port), method, path, headers: { Accept: accept } }, done));
}

function answerOf(start: (done: (response: http.IncomingMessage) => void) => http.ClientRequest): Promise<RegistryAnswer> {
  return new Promise((resolve, reject) => {
    const request = start((response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.setTimeout(30_000, () => request.destroy(new Error(`${request.method} ${request.path}: no answer within 30s`)));
    request.on("error", reject);
    request.end();
  });
}

/** The platforms (`os/architecture`) of an index's image manifests; attestations (unknown/unknown) left out. */
export const platformsOf = (entries: IndexEntry[]): string[] =>
  entries
    .filter((entry) => entry.platform && entry.platform.os !== "unknown")
    .map((entry) => `${entry.platform!.os}/${entry.platform!.architecture}`)
    .sort();

/**
 * Whether the base-image registry holds the amd64+arm64 lists (setup-engine.sh --arm64 made them), or why
 * not: a multi-arch build on a single-platform base would give the arm64 variant amd64 binaries.
 */
export async function multiArchBases(): Promise<{ available: true } | { available: false; reason: string }> {
  for (const image of Object.values(MULTIARCH_BASE_IMAGES)) {
    const [, repository, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(image)!;
    const answer = await baseRegistryRequest("GET", `/v2/${repository}/manifests/${tag}`).catch((error: Error) => ({
      status: 0,
      body: Buffer.from(error.message),
    }));
    const platforms = answer.status === 200 ? platformsOf((JSON.parse(answer.body.toString()) as { manifests?: IndexEntry[] }).manifests ?? []) : [];
    if (platforms.join(" ") !== "linux/amd64 linux/arm64")
      return {
        available: false,
        reason: `${image} is not an amd64+arm64 list (HTTP ${answer.status}, platforms: ${platforms.join(", ") || "none"}); run scripts/setup-engine.sh --arm64`,
      };
  }
  return { available: true };
}
