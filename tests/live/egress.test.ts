/**
 * Live proof of the egress allowlist on the real engine (tests/live/support/egress-lab.ts builds the setup):
 * the sandbox reaches allowed names only through its proxy, and every other way out is closed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { engineAvailability, execIn } from "./support/engine";
import {
  ALLOWED_NAME,
  buildLabImages,
  DENIED_NAME,
  HOST_ALIAS_NAME,
  inspectContainer,
  LAB_LABELS,
  METADATA_NAME,
  proxyLogs,
  removeLabObjects,
  startLab,
  TESTHOST_IMAGE,
  type EgressLab,
} from "./support/egress-lab";

const run = promisify(execFile);
const LAB = `egress-${process.pid}`;
let available: Awaited<ReturnType<typeof engineAvailability>> = { available: false, reason: "not checked yet" };
let lab: EgressLab;
const hostServers: Server[] = [];
let listedPort = 0;
let unlistedPort = 0;

/** A server on every host address, as a developer's local API bound to 0.0.0.0 would be. */
async function hostServer(): Promise<number> {
  const server = createServer((_, response) => response.end("host-answer\n"));
  hostServers.push(server);
  await new Promise<void>((done) => server.listen(0, "0.0.0.0", done));
  return (server.address() as AddressInfo).port;
}

function skipWithoutEngine(context: TestContext): void {
  if (!available.available) context.skip(available.reason);
}

/** Runs a shell line in the sandbox and returns exit code and output, for assertions that print the evidence. */
const inSandbox = (script: string) => execIn(lab.sandbox, script);
const status = (url: string, flags = "") => inSandbox(`curl -s -o /dev/null -w '%{http_code} %{http_connect}' --max-time 10 ${flags} ${url}`);

describe("egress allowlist (live)", () => {
  beforeAll(async () => {
    available = await engineAvailability();
    if (!available.available) return;
    await removeLabObjects();
    await buildLabImages();
    listedPort = await hostServer();
    unlistedPort = await hostServer();
    lab = await startLab(LAB, {
      withSandbox: true,
      egress: { allow: [ALLOWED_NAME, METADATA_NAME, `${HOST_ALIAS_NAME}:${listedPort}`], hostPorts: [listedPort] },
    });
  });

  afterAll(async () => {
    await Promise.all(hostServers.map((server) => new Promise((done) => server.close(done))));
    if (available.available) await removeLabObjects();
  });

  it("reaches an allowed name through the proxy, over HTTP and over a CONNECT tunnel", async (context) => {
    skipWithoutEngine(context);
    const plain = await inSandbox(`curl -sS --max-time 10 http://${ALLOWED_NAME}/`);
    expect(plain.output.trim(), JSON.stringify(plain)).toBe("allowed-host");
    const tunnel = await inSandbox(`curl -sS --max-time 10 --proxytunnel http://${ALLOWED_NAME}:443/`);
    expect(tunnel.output.trim(), JSON.stringify(tunnel)).toBe("allowed-host");
  });

  it("lets git clone from an allowed host through the proxy variables alone", async (context) => {
    skipWithoutEngine(context);
    const clone = await inSandbox(`cd /tmp && rm -rf r && git clone -q http://${ALLOWED_NAME}/repo.git r && git -C r log --format=%s`);
    expect(clone.output.trim(), JSON.stringify(clone)).toBe("egress test");
  });

  it("refuses a name that is not on the allowlist, with 403 from the proxy", async (context) => {
    skipWithoutEngine(context);
    expect(await status(`http://${DENIED_NAME}/`)).toMatchObject({ output: "403 000" });
    const tunnel = await status(`http://${DENIED_NAME}:443/`, "--proxytunnel");
    expect(tunnel.output, JSON.stringify(tunnel)).toBe("000 403");
  });

  it("refuses an allowed name on a port the entry does not list", async (context) => {
    skipWithoutEngine(context);
    const result = await status(`http://${ALLOWED_NAME}:8080/`);
    expect(result.output, JSON.stringify(result)).toBe("403 000");
  });

  it("refuses a raw IP address through the proxy, even the allowed server's", async (context) => {
    skipWithoutEngine(context);
    const result = await status(`http://${lab.allowedIp}/`);
    expect(result.output, JSON.stringify(result)).toBe("403 000");
  });

  it("has no direct way out: the outside name does not resolve and its address has no route", async (context) => {
    skipWithoutEngine(context);
    // Docker's DNS on an internal network forwards nothing that could leave: the lookup times out unanswered.
    const lookup = await inSandbox(`getent ahostsv4 ${ALLOWED_NAME}`);
    expect(lookup.exitCode, JSON.stringify(lookup)).toBe(2);
    const byName = await inSandbox(`curl -sS --noproxy '*' --max-time 5 http://${ALLOWED_NAME}/`);
    expect(byName.output, JSON.stringify(byName)).toMatch(/Could not resolve host|Resolving timed out/);
    const byIp = await inSandbox(`curl -sS --noproxy '*' --max-time 5 http://${lab.allowedIp}/`);
    expect(byIp.exitCode, JSON.stringify(byIp)).not.toBe(0);
    // The proxy, on the outside network, does resolve the same name: the refusal above is the internal network's.
    const proxyLookup = await execIn(lab.proxy, `getent hosts ${ALLOWED_NAME}`, { user: "13:13" });
    expect(proxyLookup.output, JSON.stringify(proxyLookup)).toContain(lab.allowedIp);
  });

  it("refuses the metadata address, directly, as a raw IP and behind an allowed name", async (context) => {
    skipWithoutEngine(context);
    expect(await status("http://169.254.169.254/latest/meta-data/")).toMatchObject({ output: "403 000" });
    const named = await status(`http://${METADATA_NAME}/`);
    expect(named.output, `${METADATA_NAME} is allowed but resolves to 169.254.169.254: ${JSON.stringify(named)}`).toBe("403 000");
    const direct = await inSandbox("curl -sS --noproxy '*' --max-time 5 http://169.254.169.254/");
    expect(direct.exitCode, JSON.stringify(direct)).not.toBe(0);
  });

  it("reaches a listed host port through the proxy and refuses an unlisted one", async (context) => {
    skipWithoutEngine(context);
    const listed = await inSandbox(`curl -sS --max-time 10 http://host.docker.internal:${listedPort}/`);
    expect(listed.output.trim(), JSON.stringify(listed)).toBe("host-answer");
    const unlisted = await status(`http://host.docker.internal:${unlistedPort}/`);
    expect(unlisted.output, JSON.stringify(unlisted)).toBe("403 000");
  });

  it("refuses an allowed name that resolves to the host, even on the listed host port", async (context) => {
    skipWithoutEngine(context);
    const result = await status(`http://${HOST_ALIAS_NAME}:${listedPort}/`);
    expect(result.output, JSON.stringify(result)).toBe("403 000");
  });

  it("cannot reach host ports directly: with inhibit_ipv4 the host has no address on the internal network", async (context) => {
    skipWithoutEngine(context);
    const docker0 = (await run("docker", ["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "bridge"])).stdout.trim();
    for (const address of [lab.internalGateway, docker0]) {
      const result = await inSandbox(`curl -sS --noproxy '*' --max-time 5 http://${address}:${listedPort}/`);
      expect(result.exitCode, `${address}:${listedPort} answered: ${JSON.stringify(result)}`).not.toBe(0);
    }
  });

  it("shows the hole inhibit_ipv4 closes: on a plain internal network the host answers at the gateway address", async (context) => {
    skipWithoutEngine(context);
    const network = `${LAB}-plain`;
    const labels = Object.entries(LAB_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
    await run("docker", ["network", "create", "--internal", ...labels, network]);
    const gateway = (await run("docker", ["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network])).stdout.trim();
    const probe = await run("docker", ["run", "--rm", ...labels, "--network", network, TESTHOST_IMAGE, "curl", "-sS", "--max-time", "5", `http://${gateway}:${listedPort}/`]).then(
      ({ stdout }) => stdout.trim(),
      (error: Error) => `unreachable: ${error.message}`,
    );
    expect(probe, "if this engine closed the hole by itself, update the README's engine note").toBe("host-answer");
  });

  it("logs each refused request with time, sandbox and destination", async (context) => {
    skipWithoutEngine(context);
    await status(`http://${DENIED_NAME}/logged`);
    const denied = (await proxyLogs(lab.proxy)).split("\n").filter((line) => line.includes("TCP_DENIED"));
    expect(denied.join("\n")).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d{4} sandbox=${LAB} client=\\S+ TCP_DENIED/403 GET http://${DENIED_NAME}/logged`, "m"));
    expect(denied.join("\n"), "the proxy healthcheck must stay out of the log").not.toContain("egress-healthcheck");
  });

  it("passes the agent's egress self-test only while the policy holds", async (context) => {
    skipWithoutEngine(context);
    // The agent image carries this script; the stand-in gets it the same way, as a file.
    const script = readFileSync(resolve(__dirname, "../../docker/agent/bin/agent-egress-selftest"), "utf8");
    const selftest = (probes: string) => inSandbox(`cat > /tmp/selftest.sh <<'EOF'\n${script}EOF\n${probes} sh /tmp/selftest.sh`);
    const healthy = await selftest(`AGENT_EGRESS_PROBE_ALLOWED=http://${ALLOWED_NAME}/ AGENT_EGRESS_PROBE_DENIED=http://${DENIED_NAME}/`);
    expect(healthy, JSON.stringify(healthy)).toMatchObject({ exitCode: 0 });
    const leaky = await selftest(`AGENT_EGRESS_PROBE_ALLOWED=http://${ALLOWED_NAME}/ AGENT_EGRESS_PROBE_DENIED=http://${ALLOWED_NAME}/`);
    expect(leaky.exitCode, JSON.stringify(leaky)).toBe(1);
    expect(leaky.output).toContain("was not refused by the proxy");
    const cutOff = await selftest(`AGENT_EGRESS_PROBE_ALLOWED=http://${DENIED_NAME}/`);
    expect(cutOff.exitCode, JSON.stringify(cutOff)).toBe(1);
    expect(cutOff.output).toContain("did not answer through the proxy (refused)");
  });

  it("runs the proxy hardened: non-root, no capabilities, no-new-privileges, read-only root, memory and pids limits, healthy", async (context) => {
    skipWithoutEngine(context);
    const info = await inspectContainer(lab.proxy);
    expect({
      user: info.Config.User,
      capDrop: info.HostConfig.CapDrop,
      securityOpt: info.HostConfig.SecurityOpt,
      readOnly: info.HostConfig.ReadonlyRootfs,
      memory: info.HostConfig.Memory,
      pids: info.HostConfig.PidsLimit,
      health: info.State.Health?.Status,
    }).toEqual({ user: "13:13", capDrop: ["ALL"], securityOpt: ["no-new-privileges:true"], readOnly: true, memory: 128 * 1024 * 1024, pids: 64, health: "healthy" });
    const procStatus = await execIn(lab.proxy, "grep -E '^(CapEff|NoNewPrivs)' /proc/1/status", { user: "13:13" });
    expect(procStatus.output).toMatch(/CapEff:\s+0+\n/);
    expect(procStatus.output).toMatch(/NoNewPrivs:\s+1/);
  });
});
