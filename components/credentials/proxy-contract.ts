/**
 * Where the credential proxy answers and what it reads: shared by its configuration (nginx-conf.ts), its
 * container (credential-proxy.ts), the secrets writer (secret-files.ts) and the sandbox's environment.
 * The image side (docker/proxies) reads the same paths.
 */

/** The credential proxy's alias on the sandbox's network. */
export const CREDENTIAL_PROXY_HOSTNAME = "credential-proxy";
/** The agent's API, with the stack's key added: the sandbox's API base URL. */
export const API_PORT = 8080;
/** Git over HTTP for the listed repositories, forwarded over HTTPS with the stack's git token. */
export const GIT_PORT = 8081;
/** The healthcheck's own port, on the proxy's loopback only. */
export const HEALTH_PORT = 8079;

export const API_BASE_URL = `http://${CREDENTIAL_PROXY_HOSTNAME}:${API_PORT}`;
export const GIT_BASE_URL = `http://${CREDENTIAL_PROXY_HOSTNAME}:${GIT_PORT}`;

/** The stack's proxy secrets volume, mounted read-only in every credential proxy (owned by its user, mode 0700). */
export const PROXY_SECRETS_PATH = "/run/credential-proxy";
/** nginx lines holding the secrets, written by the secrets writer and included by the configuration: one key file per API. */
export const apiKeyFile = (providerName: string) => `${PROXY_SECRETS_PATH}/api-key-${providerName}.conf`;
export const GIT_AUTHORIZATION_FILE = `${PROXY_SECRETS_PATH}/git-authorization.conf`;
/** The system CAs plus the stack's extra CA: what the proxy trusts for its upstreams. */
export const TRUSTED_CA_FILE = `${PROXY_SECRETS_PATH}/trusted-ca.pem`;

/**
 * On a cluster the Secret holds only the stack's extra CA; the entrypoint joins it to the image's system CAs
 * in this file on the proxy's tmpfs, which the configuration then names instead of TRUSTED_CA_FILE.
 */
export const EXTRA_CA_FILE = `${PROXY_SECRETS_PATH}/extra-ca.pem`;
export const JOINED_CA_FILE = "/tmp/nginx/trusted-ca.pem";
/** Stands in for the resolver of the pod's /etc/resolv.conf (the cluster's DNS); the entrypoint puts its address there at start. */
export const RESOLVER_PLACEHOLDER = "@RESOLVER@";

/** Stands in for the Docker host's address in the configuration; the entrypoint puts the address there at start. */
export const HOST_GATEWAY_PLACEHOLDER = "@HOST_GATEWAY@";

export { PLACEHOLDER_KEY } from "../guardrails/credentials";
