/**
 * The nginx configuration a credential proxy runs. It holds no secret: the key and the token are nginx
 * lines in the proxy secrets volume, which this configuration includes. What it decides: which requests
 * get a credential (the agent API's, the listed repositories'), that whatever credential the client sent is
 * dropped, that upstreams are verified over TLS, and that nothing logged carries a header or a query.
 */

import { type GitRepo, gitRepoAuthority, gitRepoName } from "../egress/git-repos";
import { HOST_GATEWAY_NAME } from "../engine/host-gateway";
import {
  API_PORT,
  apiKeyFile,
  GIT_AUTHORIZATION_FILE,
  GIT_PORT,
  HEALTH_PORT,
  HOST_GATEWAY_PLACEHOLDER,
  JOINED_CA_FILE,
  RESOLVER_PLACEHOLDER,
  TRUSTED_CA_FILE,
} from "./proxy-contract";

/** An HTTPS origin and the path prefix requests go under (a company gateway's `/v2`, or none). */
export interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly pathPrefix: string;
}

export interface CredentialProxyPlan {
  /** Written into every log line and the refusals, so a person knows which sandbox's config to change. */
  readonly sandboxName: string;
  /** The agent API route (`auth: proxy`); absent with `auth: subscription`. */
  readonly api?: {
    readonly upstream: Upstream;
    /** The API whose key file (proxy-contract.ts apiKeyFile) sets the key in its header and format. */
    readonly provider: string;
    /** False when the stack has no key: the route answers `missingKeyBody` instead of forwarding. */
    readonly hasKey: boolean;
    /** The API's own error JSON explaining how to set the key. */
    readonly missingKeyBody: string;
  };
  /** The repositories forwarded on the git port; none: no git route. */
  readonly gitRepos: readonly GitRepo[];
  /** False when the stack has no gitToken: listed repositories are forwarded without credentials. */
  readonly hasGitToken: boolean;
}

/** Parses `sandboxes[i].apiUpstream` (already checked to be an https URL by the schema). */
export function upstreamOf(url: string): Upstream {
  const parsed = new URL(url);
  return { host: parsed.hostname.toLowerCase(), port: Number(parsed.port || 443), pathPrefix: parsed.pathname.replace(/\/+$/, "") };
}

/**
 * Values that go into the configuration unescaped: no backslash, `$` (a variable), line break or the quote
 * around them (a bare word or double quotes: no quote at all; single quotes: no single quote).
 */
function literal(value: string, quote: "'" | '"' = '"'): string {
  const forbidden = quote === "'" ? /['\\$\n\r]/ : /["'\\$\n\r]/;
  if (forbidden.test(value)) throw new Error(`internal: ${JSON.stringify(value)} cannot be written into the credential proxy's configuration`);
  return value;
}

const regexEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `host[:port]` as the upstream's Host header and TLS name see it, and its address in proxy_pass. */
function upstreamTarget(host: string, port: number) {
  const hostHeader = port === 443 ? host : `${host}:${port}`;
  // nginx's resolver does not read /etc/hosts, so the Docker host's name is replaced by its address at start.
  const address = host === HOST_GATEWAY_NAME ? HOST_GATEWAY_PLACEHOLDER : host;
  return { hostHeader, tlsName: host, origin: `https://${address}:${port}` };
}

/** Lines every forwarding location has: the upstream's own Host and TLS name, and no credential of the client's. */
function forwardLines(host: string, port: number, credential: string[]): string[] {
  const target = upstreamTarget(host, port);
  return [
    `proxy_set_header Host ${literal(target.hostHeader)};`,
    `proxy_ssl_name ${literal(target.tlsName)};`,
    'proxy_set_header Proxy-Authorization "";',
    'proxy_set_header Cookie "";',
    ...credential,
  ];
}

/** One git smart-HTTP pkt-line: four hex digits of length (themselves included), then the payload. */
export function pktLine(payload: string): string {
  return (Buffer.byteLength(payload) + 4).toString(16).padStart(4, "0") + payload;
}

/** Why an unlisted repository is refused, as git prints it (`fatal: remote error: …`). */
export function gitRefusal(sandboxName: string): string {
  return `agent-sandbox: this repository is not in egress.gitRepos of sandbox ${sandboxName}; add it there (e.g. github.com/org/repo) for the agent to fetch and push it`;
}

function apiServer(api: NonNullable<CredentialProxyPlan["api"]>): string[] {
  const target = upstreamTarget(api.upstream.host, api.upstream.port);
  const route = api.hasKey
    ? [
        ...forwardLines(api.upstream.host, api.upstream.port, ['proxy_set_header Authorization "";', `include ${apiKeyFile(literal(api.provider))};`]),
        `proxy_pass ${target.origin}${literal(api.upstream.pathPrefix)}$request_uri;`,
      ]
    : ["default_type application/json;", `return 401 '${literal(api.missingKeyBody, "'")}';`];
  return [`  server {`, `    listen ${API_PORT};`, "    location / {", ...route.map((line) => `      ${line}`), "    }", "  }"];
}

function gitServer(plan: CredentialProxyPlan): string[] {
  const credential = plan.hasGitToken ? [`include ${GIT_AUTHORIZATION_FILE};`] : ['proxy_set_header Authorization "";'];
  const repos = plan.gitRepos.flatMap((repo) => {
    const target = upstreamTarget(repo.host, repo.port);
    return [
      `    # ${gitRepoName(repo)}`,
      `    location ~ ^/${regexEscape(gitRepoAuthority(repo))}/${regexEscape(repo.path)}(\\.git)?/(info/refs|git-upload-pack|git-receive-pack)$ {`,
      "      limit_except GET POST { deny all; }",
      ...forwardLines(repo.host, repo.port, credential).map((line) => `      ${line}`),
      `      proxy_pass ${target.origin}/${repo.path}$1/$2$is_args$args;`,
      "    }",
    ];
  });
  const refusal = literal(gitRefusal(plan.sandboxName));
  // git reads an `ERR` pkt-line in place of the advertisement and prints it; the type must match the service asked for.
  const refusedService = (service: string) => [
    `    location = /.refused/${service} {`,
    "      internal;",
    `      default_type application/x-git-${service}-advertisement;`,
    `      return 200 "${pktLine(`ERR ${refusal}\n`).replace("\n", "\\n")}";`,
    "    }",
  ];
  return [
    "  server {",
    `    listen ${GIT_PORT};`,
    ...repos,
    "    location ~ /info/refs$ {",
    '      if ($arg_service = "git-receive-pack") { rewrite ^ /.refused/receive-pack last; }',
    "      rewrite ^ /.refused/upload-pack last;",
    "    }",
    ...refusedService("upload-pack"),
    ...refusedService("receive-pack"),
    `    location / { return 403 "${refusal}\\n"; }`,
    "  }",
  ];
}

/** nginx.conf of one credential proxy. */
/** Where the proxy runs: Docker (its embedded DNS, the secrets volume's CA bundle) or a cluster's pod. */
export interface ProxySurroundings {
  /** The DNS server nginx asks for upstreams. */
  readonly resolver: string;
  /** The CA bundle it verifies upstreams with. */
  readonly trustedCaFile: string;
}

export const ON_DOCKER: ProxySurroundings = { resolver: "127.0.0.11", trustedCaFile: TRUSTED_CA_FILE };
export const ON_CLUSTER: ProxySurroundings = { resolver: RESOLVER_PLACEHOLDER, trustedCaFile: JOINED_CA_FILE };

export function credentialProxyConfig(plan: CredentialProxyPlan, surroundings: ProxySurroundings = ON_DOCKER): string {
  const name = plan.sandboxName;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`sandboxName "${name}" must be letters, digits, dots, dashes or underscores`);
  return [
    `# Generated by agent-sandbox for sandbox ${name}; edit the stack config, not this file.`,
    "worker_processes 1;",
    "pid /tmp/nginx/nginx.pid;",
    "error_log stderr warn;",
    "events { worker_connections 1024; }",
    "http {",
    // No header and no query string is ever logged: requests carry the placeholder, answers may carry anything.
    `  log_format credentials '$time_iso8601 sandbox=${name} client=$remote_addr port=$server_port $status $request_method $uri bytes=$body_bytes_sent upstream=$upstream_status';`,
    "  access_log /dev/stdout credentials;",
    "  client_body_temp_path /tmp/nginx/body;",
    "  proxy_temp_path /tmp/nginx/proxy;",
    "  fastcgi_temp_path /tmp/nginx/fastcgi;",
    "  uwsgi_temp_path /tmp/nginx/uwsgi;",
    "  scgi_temp_path /tmp/nginx/scgi;",
    "  server_tokens off;",
    "  default_type text/plain;",
    // Upstreams are looked up per request, so a proxy starts offline too.
    `  resolver ${surroundings.resolver} ipv6=off valid=30s;`,
    "  resolver_timeout 10s;",
    "  client_max_body_size 0;",
    "  proxy_http_version 1.1;",
    "  proxy_buffering off;",
    "  proxy_request_buffering off;",
    "  proxy_read_timeout 10m;",
    "  proxy_send_timeout 10m;",
    "  proxy_ssl_verify on;",
    "  proxy_ssl_verify_depth 5;",
    `  proxy_ssl_trusted_certificate ${surroundings.trustedCaFile};`,
    "  proxy_ssl_server_name on;",
    "  proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    `  server { listen 127.0.0.1:${HEALTH_PORT}; access_log off; location = /healthz { return 200 "credential proxy ready\\n"; } }`,
    ...(plan.api ? apiServer(plan.api) : []),
    ...(plan.gitRepos.length > 0 ? gitServer(plan) : []),
    "}",
    "",
  ].join("\n");
}
