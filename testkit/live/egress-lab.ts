/**
 * A miniature of one sandbox's egress setup on the real engine, with the project's own containers standing in
 * for the outside world: an internal network (no route out, inhibit_ipv4 so the host has no address on it)
 * holding the sandbox and the proxy, and an "outside" network (198.18.100.0/24, see REFUSED_DESTINATIONS)
 * holding the proxy and two web servers whose network aliases play outside names. Nothing leaves the machine.
 * Used by tests/live/egress.test.ts and scripts/bench/egress.ts. Under AGENT_SANDBOX_LIVE_ISOLATION=gvisor the
 * sandbox stand-in runs on runsc as the program makes a gVisor sandbox: its network on the program's /28
 * (gvisorNetworkPlan), the proxy at the plan's fixed address, and a hosts entry for the proxy's name.
 */

import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { egressConfigSchema, egressPolicyFor } from "../../components/egress/config";
import { PROXY_MEMORY_MB, PROXY_PIDS } from "../../components/egress/egress-proxy";
import { PROXY_HOSTNAME, PROXY_PORT, proxyEnvironment, sandboxNetworkSettings } from "../../components/egress/network";
import { squidConfigFor } from "../../components/egress/squid";
import { DOCKER } from "../../components/engine/engine";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { runtimeArgs } from "../../components/hardening/isolation";
import { PROXY_USER } from "../../components/image/proxy-image";
import { gvisorNetworkPlan } from "../../components/sandbox/gvisor-network";
import { AGENT_USER, BUILD_CLI, BUILD_ENV, LOCAL_IMAGES, labelArgs, networkGateway, testLabels, waitHealthy } from "./engine";
import { LIVE_ISOLATION, liveEnginePids, underGvisor } from "./isolation";

const run = promisify(execFile);
const engine = new Docker();
const ROOT = resolve(__dirname, "../..");
const BASE_IMAGE = process.env.AGENT_SANDBOX_BASE_IMAGE ?? LOCAL_IMAGES.baseImage;
const PROXY_IMAGE = "agent-sandbox/egress-proxy:test";
export const TESTHOST_IMAGE = "agent-sandbox/egress-testhost:test";
export const LAB_LABELS = testLabels("egress");
const OUTSIDE_SUBNET = "198.18.100.0/24";
export const ALLOWED_NAME = "allowed.example.test";
export const DENIED_NAME = "denied.example.test";
/** Allowed names that resolve (through the proxy's /etc/hosts) to refused addresses. */
export const METADATA_NAME = "metadata.example.test";
export const HOST_ALIAS_NAME = "sneaky.example.test";

async function build(context: string, tag: string): Promise<void> {
  await run(BUILD_CLI, ["build", "-q", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, ...labelArgs(LAB_LABELS), "-t", tag, context], {
    env: BUILD_ENV,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`building ${tag} from ${context} failed (is ${BASE_IMAGE} there? scripts/setup-engine.sh builds it): ${error.stderr ?? error.message}`);
  });
}

/** Builds the proxy image from docker/proxies and the stand-in image (cached layers make reruns quick). */
export async function buildLabImages(): Promise<void> {
  await build(resolve(ROOT, "docker/proxies"), PROXY_IMAGE);
  await build(resolve(ROOT, "testkit/live/egress-testhost"), TESTHOST_IMAGE);
}

/** Removes what an earlier, interrupted run left behind: only objects carrying the lab's labels. */
export async function removeLabObjects(): Promise<void> {
  const filters = JSON.stringify({ label: Object.entries(LAB_LABELS).map(([k, v]) => `${k}=${v}`) });
  for (const info of await engine.listContainers({ all: true, filters })) await engine.getContainer(info.Id).remove({ force: true });
  for (const info of await engine.listNetworks({ filters })) await engine.getNetwork(info.Id).remove();
}

export interface LabOptions {
  /** Raw `egress` config, as a developer writes it. */
  readonly egress: unknown;
  /** Start a sandbox stand-in on the internal network (the bench does not need one). */
  readonly withSandbox: boolean;
}

export interface EgressLab {
  readonly proxy: string;
  readonly sandbox: string;
  /** The proxy's address on the outside network, reachable from the host (the bench's client side). */
  readonly proxyOutsideIp: string;
  readonly allowedIp: string;
  readonly deniedIp: string;
  /** Gateway address of the internal network (the host's address there unless inhibit_ipv4). */
  readonly internalGateway: string;
  readonly squidConf: string;
}

const hardened = (memoryMb: number, pids: number) => ({
  CapDrop: ["ALL"],
  SecurityOpt: ["no-new-privileges:true"],
  ReadonlyRootfs: true,
  Tmpfs: { "/tmp": "size=64m,mode=1777" },
  Memory: memoryMb * 1024 * 1024,
  MemorySwap: memoryMb * 1024 * 1024,
  PidsLimit: pids,
});

async function createNetwork(name: string, options: Omit<Docker.NetworkCreateOptions, "Name">): Promise<Docker.Network> {
  return engine.createNetwork({ ...options, Name: name, Driver: "bridge", Labels: LAB_LABELS });
}

async function createOn(network: string, aliases: string[], options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  return engine.createContainer({
    ...options,
    Labels: LAB_LABELS,
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: aliases } } },
  });
}

async function ipOn(container: Docker.Container, network: string): Promise<string> {
  return (await container.inspect()).NetworkSettings.Networks[network].IPAddress;
}

/** The first host address of an IPv4 subnet ("10.213.1.16/28" → "10.213.1.17"). */
function firstAddressOf(subnet: string): string {
  const octets = subnet.split("/")[0].split(".").map(Number);
  return [...octets.slice(0, 3), octets[3] + 1].join(".");
}

/** Creates networks, test servers, the proxy (with the generated policy) and optionally the sandbox; waits for the proxy to be healthy. */
export async function startLab(name: string, options: LabOptions): Promise<EgressLab> {
  const internal = `${name}-net`;
  const outside = `${name}-outside`;
  const settings = sandboxNetworkSettings("allowlist", DOCKER, internal);
  // Under gVisor the sandbox cannot ask Docker's DNS for the proxy: the program's fixed addresses stand in.
  const plan = underGvisor ? gvisorNetworkPlan(internal) : undefined;
  await createNetwork(internal, {
    Internal: settings.internal,
    Options: settings.options,
    // The gateway named as Docker would pick it (the subnet's first address): with inhibit_ipv4 the engine reports none otherwise.
    ...(plan ? { IPAM: { Driver: "default", Config: [{ Subnet: plan.subnet, Gateway: firstAddressOf(plan.subnet) }] } } : {}),
  });
  await createNetwork(outside, { IPAM: { Driver: "default", Config: [{ Subnet: OUTSIDE_SUBNET }] } });

  const servers: Record<string, Docker.Container> = {};
  for (const [role, alias] of [
    ["allowed", ALLOWED_NAME],
    ["denied", DENIED_NAME],
  ]) {
    servers[role] = await createOn(outside, [alias], { name: `${name}-${role}`, Image: TESTHOST_IMAGE, Env: [`ROLE=${role}-host`] });
    await servers[role].start();
  }

  const policy = egressPolicyFor(egressConfigSchema.parse(options.egress), "claude", "subscription");
  const squidConf = squidConfigFor(policy, { sandboxName: name });
  const proxy = await createOn(outside, [], {
    name: `${name}-proxy`,
    Image: PROXY_IMAGE,
    User: PROXY_USER,
    Env: [`SQUID_CONF_B64=${Buffer.from(squidConf).toString("base64")}`],
    Healthcheck: { Interval: 1_000_000_000, Timeout: 5_000_000_000, Retries: 3, StartPeriod: 1_000_000_000 },
    HostConfig: {
      ...hardened(PROXY_MEMORY_MB, PROXY_PIDS),
      ExtraHosts: [`${HOST_GATEWAY_NAME}:host-gateway`, `${HOST_ALIAS_NAME}:host-gateway`, `${METADATA_NAME}:169.254.169.254`],
    },
  });
  await engine.getNetwork(internal).connect({
    Container: proxy.id,
    EndpointConfig: { Aliases: [PROXY_HOSTNAME], ...(plan ? { IPAMConfig: { IPv4Address: plan.egressProxyAddress } } : {}) },
  });
  await proxy.start();

  let sandbox = "";
  if (options.withSandbox) {
    const env = proxyEnvironment(`http://${PROXY_HOSTNAME}:${PROXY_PORT}`);
    const container = await createOn(internal, [], {
      name: `${name}-sandbox`,
      Image: TESTHOST_IMAGE,
      User: AGENT_USER,
      Cmd: ["sleep", "infinity"],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      HostConfig: {
        ...hardened(256, liveEnginePids(128)),
        ...(plan ? { Runtime: runtimeArgs(LIVE_ISOLATION).runtime, ExtraHosts: [`${PROXY_HOSTNAME}:${plan.egressProxyAddress}`] } : {}),
      },
    });
    await container.start();
    sandbox = `${name}-sandbox`;
  }

  await proxyHealthy(proxy.id);
  return {
    proxy: `${name}-proxy`,
    sandbox,
    proxyOutsideIp: await ipOn(proxy, outside),
    allowedIp: await ipOn(servers.allowed, outside),
    deniedIp: await ipOn(servers.denied, outside),
    internalGateway: await networkGateway(internal),
    squidConf,
  };
}

async function proxyHealthy(id: string): Promise<void> {
  const info = await waitHealthy(id, 30_000);
  if (info.State.Health?.Status === "healthy") return;
  const logs = (await engine.getContainer(id).logs({ stdout: true, stderr: true, tail: 30 })).toString();
  throw new Error(
    `proxy ${info.Name} not healthy (state ${info.State.Status}, health ${info.State.Health?.Status}): ${JSON.stringify(info.State.Health?.Log?.slice(-2))}\n${logs}`,
  );
}
