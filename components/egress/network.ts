/**
 * How a sandbox's traffic reaches its egress proxy: the proxy's address on the sandbox's internal network,
 * the proxy variables the sandbox gets, the network settings per egress mode, and the variables of the
 * image's egress self-test. Pure: no Pulumi resources (the proxy container is egress-proxy.ts).
 */
import { type EngineClient, typedCommand } from "../engine/client";
import type { Engine } from "../engine/engine";

/** A name no allowlist can hold (.invalid is reserved), so the proxy must refuse it without a lookup. */
export const DENIED_PROBE_URL = "http://egress-denied-probe.invalid/";
/** The variables agent-egress-selftest reads: the URLs that must answer, and be refused, through the proxy. */
export const PROBE_ALLOWED_ENV = "AGENT_EGRESS_PROBE_ALLOWED";
export const PROBE_DENIED_ENV = "AGENT_EGRESS_PROBE_DENIED";
/** Port the proxy listens on inside its container. */
export const PROXY_PORT = 3128;
/** The proxy's network alias on the sandbox's internal network: the host part of the sandbox's proxy URL. */
export const PROXY_HOSTNAME = "egress-proxy";

/** The URL a sandbox on the allowlist uses as its proxy: the proxy's alias on the sandbox's internal network. */
export const PROXY_URL = `http://${PROXY_HOSTNAME}:${PROXY_PORT}`;

/**
 * Proxy variables in both spellings (curl reads lowercase http_proxy only; npm and git read either);
 * loopback and the `direct` hosts (the sandbox's credential proxy) are reached without it.
 */
export function proxyEnvironment(proxyUrl: string, direct: readonly string[] = []): Record<string, string> {
  const noProxy = ["localhost", "127.0.0.1", "::1", ...direct].join(",");
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    NO_PROXY: noProxy,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    no_proxy: noProxy,
  };
}

/**
 * The sandbox's own network by egress mode (`none` has no network: the container runs with network mode
 * "none"). For `allowlist` it is internal (no route out, Docker's DNS answers only names on it) and the
 * host cannot be reached on it: on an internal network the host still answers at the gateway address
 * (every host service bound to 0.0.0.0), which the engine's isolated-network options close.
 */
export function sandboxNetworkSettings(
  mode: "allowlist" | "open",
  engine: Engine,
  networkName: string,
): { driver: string; internal: boolean; options: Record<string, string> } {
  const { driver } = engine.network;
  return mode === "allowlist" ? { driver, internal: true, options: engine.isolatedNetworkOptions(networkName) } : { driver, internal: false, options: {} };
}

/** The command that prints the requests a sandbox's proxy refused (DOCKER_HOST spelled out for a remote engine). */
export function deniedLogCommand(proxyContainer: string, engine: EngineClient): string {
  return deniedIn(typedCommand(engine, ["logs", proxyContainer]));
}

/** The refused requests among the lines a command printing the proxy's log prints. */
export const deniedIn = (logsCommand: string) => `${logsCommand} 2>&1 | grep TCP_DENIED`;
