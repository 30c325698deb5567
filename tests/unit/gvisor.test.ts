/**
 * isolation: gvisor as the program declares it (under the mock monitor) and as the config judges it: the
 * sandbox on runsc with its proxies on the engine's default runtime, the proxies at fixed addresses the
 * sandbox finds by hosts entries (gVisor cannot reach Docker's DNS), the pids limit translated for runsc's
 * own tasks, and the refusals before anything is declared.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { gvisorKeys, resolveArgs } from "../../components/config/resolve-args";
import { parseStackConfig } from "../../components/config/stack-schema";
import { agentPidsLimit, enginePidsLimit } from "../../components/hardening/isolation";
import { gvisorNetworkPlan } from "../../components/sandbox/gvisor-network";
import { ConfigError } from "../../components/values/config-error";
import { realHostProbe } from "../../components/values/host-probe";
import { type Evaluation, evaluateProgram, makeWorkspace, type RecordedResource } from "./support/program";

const CONTAINER = "docker:index/container:Container";
const ws = makeWorkspace();
const image = { agentUid: ws.uid, agentGid: ws.gid };
const host = { homeDir: "/home/me" };

function problemsOf(sandbox: Record<string, unknown>): string[] {
  try {
    parseStackConfig({ sandboxes: [{ name: "main", workspace: "/srv/code", ...sandbox }] }, host);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe("a gVisor sandbox as the program declares it", () => {
  let program: Evaluation;
  let sandbox: RecordedResource;
  const plan = gvisorNetworkPlan("agent-sandbox-dev-main-net");

  beforeAll(async () => {
    program = await evaluateProgram({
      config: { image, sandboxes: [{ name: "main", workspace: ws.dir, isolation: "gvisor", resources: { pids: 100 } }] },
      secrets: { anthropicApiKey: "sk-ant-test-0000-not-a-real-key" },
    });
    sandbox = program.one(CONTAINER, "main");
  });

  it("runs the sandbox on runsc and its proxies on the engine's default runtime", () => {
    expect(sandbox.inputs.runtime).toBe("runsc");
    expect(program.one(CONTAINER, "main-egress").inputs.runtime).toBeUndefined();
    expect(program.one(CONTAINER, "main-credential-proxy").inputs.runtime).toBeUndefined();
  });

  it("gives its network the planned subnet and its proxies the planned addresses, which the sandbox knows them by", () => {
    expect(program.one("docker:index/network:Network", "main-net").inputs.ipamConfigs).toEqual([
      { subnet: plan.subnet, gateway: plan.gateway, ipRange: plan.dynamicRange },
    ]);
    const addressOn = (name: string) =>
      (program.one(CONTAINER, name).inputs.networksAdvanced as { name: string; ipv4Address?: string }[]).find(
        (network) => network.name === "agent-sandbox-dev-main-net",
      )?.ipv4Address;
    expect(addressOn("main-egress")).toBe(plan.egressProxyAddress);
    expect(addressOn("main-credential-proxy")).toBe(plan.credentialProxyAddress);
    expect(sandbox.inputs.hosts).toEqual([
      { host: "egress-proxy", ip: plan.egressProxyAddress },
      { host: "credential-proxy", ip: plan.credentialProxyAddress },
    ]);
  });

  it("gives runsc's own tasks room under the pids limit, the agent keeping its budget", () => {
    const start = program.one("command:local:Command", "main-start");
    expect((start.inputs.environment as Record<string, string>).PIDS_LIMIT).toBe(String(enginePidsLimit(100, "gvisor")));
    expect(enginePidsLimit(100, "gvisor")).toBeGreaterThan(200);
    expect(enginePidsLimit(100, "container")).toBe(100);
  });
});

describe("a container sandbox is declared as before", () => {
  it("has no runtime input, no fixed addresses and no planned subnet", async () => {
    const program = await evaluateProgram({
      config: { image, sandboxes: [{ name: "main", workspace: ws.dir }] },
      secrets: { anthropicApiKey: "sk-ant-test-0000-not-a-real-key" },
    });
    expect(program.one(CONTAINER, "main").inputs.runtime).toBeUndefined();
    expect(program.one(CONTAINER, "main").inputs.hosts).toBeUndefined();
    expect(program.one("docker:index/network:Network", "main-net").inputs.ipamConfigs).toBeUndefined();
  });
});

describe("the planned gVisor network", () => {
  it("is a /28 of the pool, the same for one name every time, with both proxies inside it past the gateway", () => {
    const plan = gvisorNetworkPlan("agent-sandbox-alice-main-net");
    expect(gvisorNetworkPlan("agent-sandbox-alice-main-net")).toEqual(plan);
    const [base, prefix] = plan.subnet.split("/");
    expect(prefix).toBe("28");
    const last = (address: string) => Number(address.split(".")[3]);
    expect(base).toMatch(/^10\.213\.\d+\.\d+$/);
    expect(last(base) % 16).toBe(0);
    expect(last(plan.gateway) - last(base)).toBe(1);
    expect(last(plan.egressProxyAddress) - last(base)).toBe(2);
    expect(last(plan.credentialProxyAddress) - last(base)).toBe(3);
    // Docker's own picks come from the upper half, which neither proxy's address is in.
    expect(plan.dynamicRange).toBe(`${base.replace(/\d+$/, String(last(base) + 8))}/29`);
  });

  it("puts different sandboxes' networks apart", () => {
    const subnets = new Set(["main", "review", "docs", "api"].map((name) => gvisorNetworkPlan(`agent-sandbox-alice-${name}-net`).subnet));
    expect(subnets.size).toBe(4);
  });
});

describe("what the config refuses under gVisor", () => {
  it("defaults to the engine's default runtime", () => {
    expect(parseStackConfig({ workspace: "/srv/code" }, host).sandboxes[0].isolation).toBe("container");
  });

  it("refuses open egress, whose names only Docker's DNS would answer", () => {
    expect(problemsOf({ isolation: "gvisor", egress: { mode: "open" }, acknowledgeUnsafe: ["open-egress"] })).toEqual([
      expect.stringMatching(/^sandboxes\[0\]\.isolation: gVisor's network stack cannot reach Docker's DNS.*use egress\.mode "allowlist"/),
    ]);
  });

  it("refuses a memory limit runsc cannot start in, naming the least it can", () => {
    expect(problemsOf({ isolation: "gvisor", resources: { memory: "32m" } })).toEqual([
      expect.stringMatching(/^sandboxes\[0\]\.resources\.memory: "32m" .*at least "64m"/),
    ]);
    expect(problemsOf({ isolation: "container", resources: { memory: "32m" } })).toEqual([]);
  });

  it("refuses a CPU limit too small for runsc to serve an exec in, naming the least it can", () => {
    expect(problemsOf({ isolation: "gvisor", resources: { cpus: 0.05 } })).toEqual([
      expect.stringMatching(/^sandboxes\[0\]\.resources\.cpus: 0\.05 CPU is too little for gVisor's own kernel.*at least 0\.1/),
    ]);
    expect(problemsOf({ isolation: "gvisor", resources: { cpus: 0.1 } })).toEqual([]);
    expect(problemsOf({ isolation: "container", resources: { cpus: 0.01 } })).toEqual([]);
  });

  it("takes the stack's isolation for the shortcut and for every sandbox that does not name its own", () => {
    expect(parseStackConfig({ workspace: "/srv/code", isolation: "gvisor" }, host).sandboxes[0].isolation).toBe("gvisor");
    const listed = parseStackConfig(
      {
        isolation: "gvisor",
        sandboxes: [
          { name: "a", workspace: "/srv/a" },
          { name: "b", workspace: "/srv/b", isolation: "container" },
        ],
      },
      host,
    );
    expect(listed.sandboxes.map((sandbox) => sandbox.isolation)).toEqual(["gvisor", "container"]);
  });

  it("judges a sandbox by the isolation it inherits, and an unknown stack isolation once, by its own key", () => {
    expect(() => parseStackConfig({ isolation: "gvisor", sandboxes: [{ name: "a", workspace: "/srv/a", resources: { memory: "32m" } }] }, host)).toThrow(
      /sandboxes\[0\]\.resources\.memory: "32m" .*at least "64m"/,
    );
    let problems: readonly string[] = [];
    try {
      parseStackConfig({ isolation: "kata", sandboxes: [{ name: "a", workspace: "/srv/a" }] }, host);
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([expect.stringMatching(/^isolation: must be "container" .* or "gvisor"/)]);
  });

  it("refuses an unknown isolation with the two it knows", () => {
    expect(problemsOf({ isolation: "kata" })).toEqual([expect.stringMatching(/^sandboxes\[0\]\.isolation: must be "container" .* or "gvisor"/)]);
  });

  it("refuses gVisor on an engine without runsc, naming the key, the engine and the fix, before anything is declared", () => {
    const args = { image, sandboxes: [{ name: "main", workspace: ws.dir, isolation: "gvisor" as const }] };
    const resolve = (offered: string[]) => () =>
      resolveArgs(
        args,
        realHostProbe,
        "/home/me",
        () => undefined,
        {},
        () => ({ runtimes: offered }),
      );
    expect(resolve(["runc"])).toThrow(
      /sandboxes\[0\]\.isolation: "gvisor" runs the sandbox under the engine's runtime "runsc", which the engine at unix:\/\/\/var\/run\/docker\.sock does not offer \(it offers: runc\).*setup-engine\.sh/,
    );
    expect(resolve(["runc", "runsc"])).not.toThrow();
  });

  it("names the stack's isolation key when the sandboxes asking for gVisor inherit it", () => {
    expect(gvisorKeys({ isolation: "gvisor" })).toEqual(["isolation"]);
    const sandboxes = [
      { name: "a", workspace: "/srv/a" },
      { name: "b", workspace: "/srv/b" },
      { name: "c", workspace: "/srv/c", isolation: "gvisor" as const },
      { name: "d", workspace: "/srv/d", isolation: "container" as const },
    ];
    expect(gvisorKeys({ isolation: "gvisor", sandboxes })).toEqual(["isolation", "sandboxes[2].isolation"]);
    expect(gvisorKeys({ sandboxes })).toEqual(["sandboxes[2].isolation"]);
    expect(() =>
      resolveArgs(
        { image, workspace: ws.dir, isolation: "gvisor" },
        realHostProbe,
        "/home/me",
        () => undefined,
        {},
        () => ({ runtimes: ["runc"] }),
      ),
    ).toThrow(/^[\s\S]*- isolation: "gvisor" runs the sandbox under the engine's runtime "runsc"/);
  });
});

describe("the pids limit npm run status reports", () => {
  it("is the configured one, runsc's own tasks taken back out", () => {
    for (const pids of [32, 100, 1024]) expect(agentPidsLimit(enginePidsLimit(pids, "gvisor"), "gvisor")).toBe(pids);
    expect(agentPidsLimit(1024, "container")).toBe(1024);
  });
});
