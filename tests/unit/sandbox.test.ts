import * as os from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { engineClient } from "../../components/engine/client";
import { startHealthyLines } from "../../components/hardening/container-start";
import { type Evaluation, evaluateProgram, makeWorkspace, type RecordedResource } from "./support/program";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";

describe("a sandbox from the defaults (only the workspace configured)", () => {
  let program: Evaluation;
  let container: RecordedResource["inputs"];
  let workspace: ReturnType<typeof makeWorkspace>;

  beforeAll(async () => {
    workspace = makeWorkspace();
    program = await evaluateProgram({ config: { workspace: workspace.dir, image: { agentUid: workspace.uid, agentGid: workspace.gid } } });
    container = program.one(CONTAINER, "main").inputs;
  });

  const mount = (target: string) => container.mounts.find((entry: { target: string }) => entry.target === target);

  it("runs as the non-root agent user the image was built with", () => {
    expect(container.user).toBe(`${workspace.uid}:${workspace.gid}`);
    expect(program.one("docker-build:index:Image", "agent").inputs.buildArgs).toMatchObject({
      AGENT_UID: String(workspace.uid),
      AGENT_GID: String(workspace.gid),
    });
  });

  it("drops every capability and adds none", () => {
    expect(container.capabilities).toEqual({ drops: ["ALL"], adds: [] });
  });

  it("forbids gaining privileges through setuid binaries", () => {
    expect(container.securityOpts).toEqual(["no-new-privileges:true"]);
  });

  it("is not privileged and shares no host namespace", () => {
    expect(container.privileged).toBe(false);
    expect(container.networkMode).toBeUndefined();
    expect(container.pidMode).toBeUndefined();
    expect(container.ipcMode).toBe("private");
  });

  it("has a read-only root with a size-capped tmpfs at /tmp", () => {
    expect(container.readOnly).toBe(true);
    expect(mount("/tmp")).toEqual({ type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 1073741824, mode: 0o1777 } });
  });

  it("keeps the agent home in a named volume so config and logins survive replacement", () => {
    expect(mount("/home/agent")).toEqual({ type: "volume", source: "agent-sandbox-dev-main-home", target: "/home/agent" });
    expect(program.one("docker:index/volume:Volume", "main-home").inputs.name).toBe("agent-sandbox-dev-main-home");
  });

  it("limits memory to 8 GiB with no swap, CPUs to 4 or the host's count, and open files", () => {
    expect(container.memory).toBe(8192);
    expect(container.memorySwap).toBe(8192);
    // A CFS quota over Docker's 100 ms period, what --cpus sets; never `cpus`, which the provider reads back reformatted.
    expect(container.cpus).toBeUndefined();
    expect([container.cpuPeriod, container.cpuQuota]).toEqual([100_000, Math.min(4, os.cpus().length) * 100_000]);
    expect(container.ulimits).toEqual([{ name: "nofile", soft: 8192, hard: 8192 }]);
  });

  it("is created stopped and started only after the pids limit is applied", () => {
    expect(container.start).toBe(false);
    const start = program.one(COMMAND, "main-start");
    expect(start.inputs.environment).toMatchObject({ CONTAINER: "agent-sandbox-dev-main", PIDS_LIMIT: "1024" });
    expect(start.inputs.create).toMatch(/docker update --pids-limit "\$PIDS_LIMIT" "\$CONTAINER"[\s\S]*docker start "\$CONTAINER"/);
    expect(start.inputs.triggers).toEqual(["main-id"]);
  });

  it("mounts the workspace read-write at /workspace and works there", () => {
    expect(mount("/workspace")).toEqual({ type: "bind", source: workspace.dir, target: "/workspace", readOnly: false });
    expect(container.workingDir).toBe("/workspace");
  });

  it("mounts no credentials and never the Docker socket: the keys live in its credential proxy, written before either starts", () => {
    expect(mount("/run/agent-secrets")).toBeUndefined();
    expect(mount("/run/credential-proxy")).toBeUndefined();
    expect(JSON.stringify(container.mounts)).not.toMatch(/credentials|proxy-secrets/);
    expect(program.ofType("docker:index/volume:Volume").map((volume) => volume.inputs.name)).not.toContain("agent-sandbox-dev-credentials");
    expect(program.one(COMMAND, "main-start").options.dependsOn).toEqual(expect.arrayContaining(["proxy-secrets-write", "main-credential-proxy-start"]));
    expect(JSON.stringify(container)).not.toMatch(/docker\.sock/);
  });

  it("sits only on an internal network of its own, where the host has no address, behind its egress proxy", () => {
    expect(container.networksAdvanced).toEqual([{ name: "agent-sandbox-dev-main-net", aliases: ["main"] }]);
    expect(container.hosts).toBeUndefined();
    expect(program.one("docker:index/network:Network", "main-net").inputs).toMatchObject({
      internal: true,
      options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
    });
    const proxy = program.one(CONTAINER, "main-egress").inputs;
    expect(proxy.networksAdvanced).toEqual([{ name: "agent-sandbox-dev-main-egress-net" }, { name: "agent-sandbox-dev-main-net", aliases: ["egress-proxy"] }]);
    expect(program.one(COMMAND, "main-start").options.dependsOn).toContain("main-egress-start");
  });

  it("sends its traffic through the proxy, its agent's API to the credential proxy with a placeholder key, and proves the policy in its healthcheck", () => {
    expect(container.envs).toEqual(
      expect.arrayContaining([
        "HTTPS_PROXY=http://egress-proxy:3128",
        "https_proxy=http://egress-proxy:3128",
        "NO_PROXY=localhost,127.0.0.1,::1,credential-proxy",
        "no_proxy=localhost,127.0.0.1,::1,credential-proxy",
        "ANTHROPIC_BASE_URL=http://credential-proxy:8080",
        "ANTHROPIC_API_KEY=added-by-credential-proxy",
        "AGENT_EGRESS_PROBE_DENIED=http://egress-denied-probe.invalid/",
      ]),
    );
    // Under auth proxy the API is not on the allowlist, so the healthcheck does not expect to reach it; no git rewrite without gitRepos.
    expect(container.envs.filter((env: string) => /^(AGENT_EGRESS_PROBE_ALLOWED|GIT_CONFIG_|GIT_TERMINAL_PROMPT)/.test(env))).toEqual([]);
  });

  it("carries the discovery labels on the container, its network and its volumes", () => {
    const expected = [
      { label: "dev.agent-sandbox.managed-by", value: "agent-sandbox" },
      { label: "dev.agent-sandbox.project", value: "agent-sandbox" },
      { label: "dev.agent-sandbox.sandbox", value: "main" },
      { label: "dev.agent-sandbox.stack", value: "dev" },
    ];
    expect(container.labels).toEqual(expected);
    expect(program.one("docker:index/network:Network", "main-net").inputs.labels).toEqual(expected);
    expect(program.one("docker:index/volume:Volume", "main-home").inputs.labels).toEqual(expected);
  });

  it("restarts unless stopped and rotates its logs", () => {
    expect(container.restart).toBe("unless-stopped");
    expect(container.logDriver).toBe("json-file");
    expect(container.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
  });

  it("declares the image healthcheck and replaces the container when it or tmpfs changes", () => {
    expect(container.healthcheck).toEqual({
      tests: ["CMD", "/usr/local/bin/agent-healthcheck"],
      interval: "15s",
      timeout: "10s",
      startPeriod: "5s",
      retries: 3,
    });
    const options = program.one(CONTAINER, "main").options;
    expect(options.replaceOnChanges).toEqual(expect.arrayContaining(["healthcheck", "tmpfs", "mounts"]));
    expect(options.deleteBeforeReplace).toBe(true);
  });

  it("starts the container with the readiness lines (tests/unit/container-start.test.ts) and their deadlines", () => {
    const start = program.one(COMMAND, "main-start").inputs;
    expect(start.create).toContain(startHealthyLines(engineClient()));
    // 5 s start period + 4 checks of 15 s interval and 10 s timeout + 30 s; one check may take its 10 s.
    expect(start.environment).toMatchObject({ HEALTH_TIMEOUT: "135", CHECK_TIMEOUT: "10" });
  });

  it("keeps the agent CLI from self-updating or sending non-essential traffic", () => {
    expect(container.envs).toEqual(expect.arrayContaining(["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"]));
  });

  it("runs an init process and idles, so agent runs never depend on the image's command", () => {
    expect(container.init).toBe(true);
    expect(container.command).toEqual(["sleep", "infinity"]);
  });

  it("gives the commands to open a shell and to run the agent by hand", () => {
    expect(program.outputs.sandboxOutputs).toEqual({
      main: expect.objectContaining({
        shell: `docker exec -it -u ${workspace.uid}:${workspace.gid} -w /workspace agent-sandbox-dev-main bash`,
        runAgent: `docker exec -it -u ${workspace.uid}:${workspace.gid} -w /workspace agent-sandbox-dev-main agent-exec claude`,
      }),
    });
  });
});

describe("sandbox options from config", () => {
  it("gives each sandbox its own network, so sandboxes cannot reach each other", async () => {
    const a = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        sandboxes: [
          { name: "one", workspace: a.dir },
          { name: "two", workspace: a.dir, mode: "ro" },
        ],
        image: { agentUid: a.uid, agentGid: a.gid },
      },
    });
    const networksOf = (name: string) => program.one(CONTAINER, name).inputs.networksAdvanced.map((network: { name: string }) => network.name);
    expect(networksOf("one")).toEqual(["agent-sandbox-dev-one-net"]);
    expect(networksOf("two")).toEqual(["agent-sandbox-dev-two-net"]);
    expect(networksOf("one-egress")).toEqual(["agent-sandbox-dev-one-egress-net", "agent-sandbox-dev-one-net"]);
    expect(networksOf("two-egress")).toEqual(["agent-sandbox-dev-two-egress-net", "agent-sandbox-dev-two-net"]);
  });

  it("mounts the workspace read-only in ro mode and extra mounts read-only unless said", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        sandboxes: [
          {
            name: "main",
            workspace: ws.dir,
            mode: "ro",
            mounts: [
              { source: ws.dir, target: "/data" },
              { source: ws.dir, target: "/scratch", readOnly: false },
            ],
          },
        ],
        image: { agentUid: ws.uid, agentGid: ws.gid },
      },
    });
    const mounts = program.one(CONTAINER, "main").inputs.mounts;
    expect(mounts.find((m: { target: string }) => m.target === "/workspace").readOnly).toBe(true);
    expect(mounts.find((m: { target: string }) => m.target === "/data").readOnly).toBe(true);
    expect(mounts.find((m: { target: string }) => m.target === "/scratch").readOnly).toBe(false);
  });

  it("applies configured limits and labels acknowledged unsafe settings for the policy pack", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        sandboxes: [
          {
            name: "main",
            workspace: ws.dir,
            resources: { cpus: 1.5, memory: "2g", swap: "1g", pids: 256 },
            capAdd: ["NET_BIND_SERVICE"],
            acknowledgeUnsafe: ["added-capabilities"],
          },
        ],
        image: { agentUid: ws.uid, agentGid: ws.gid },
      },
    });
    const container = program.one(CONTAINER, "main").inputs;
    expect([container.cpuQuota, container.memory, container.memorySwap]).toEqual([150_000, 2048, 3072]);
    expect(container.capabilities).toEqual({ drops: ["ALL"], adds: ["NET_BIND_SERVICE"] });
    expect(container.labels).toContainEqual({ label: "dev.agent-sandbox.acknowledged-unsafe", value: "added-capabilities" });
    expect(program.one(COMMAND, "main-start").inputs.environment.PIDS_LIMIT).toBe("256");
  });

  it("has no network at all in egress mode none", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: { sandboxes: [{ name: "main", workspace: ws.dir, egress: { mode: "none" } }], image: { agentUid: ws.uid, agentGid: ws.gid } },
    });
    const container = program.one(CONTAINER, "main").inputs;
    expect(container.networkMode).toBe("none");
    expect(container.networksAdvanced).toBeUndefined();
    expect(program.ofType("docker:index/network:Network")).toEqual([]);
    expect(program.ofType("docker-build:index:Image").map((build) => build.name)).toEqual(["agent"]);
  });

  it("is an ordinary bridge with the host reachable in acknowledged open egress", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        sandboxes: [{ name: "main", workspace: ws.dir, egress: { mode: "open" }, acknowledgeUnsafe: ["open-egress"] }],
        image: { agentUid: ws.uid, agentGid: ws.gid },
      },
    });
    const container = program.one(CONTAINER, "main").inputs;
    expect(container.hosts).toEqual([{ host: "host.docker.internal", ip: "host-gateway" }]);
    expect(program.one("docker:index/network:Network", "main-net").inputs).toMatchObject({ internal: false });
    expect(container.envs.some((env: string) => env.startsWith("HTTPS_PROXY="))).toBe(false);
  });

  it("declares nothing when the config is bad", async () => {
    let recorded: Evaluation["resources"] = [];
    await expect(
      evaluateProgram({
        config: { sandboxes: [{ name: "main", workspace: "/nonexistent/agent-sandbox", privileged: true }] },
        onResources: (resources) => (recorded = resources),
      }),
    ).rejects.toThrow(/sandboxes\[0\]\.privileged: refused because privileged mode/);
    expect(recorded).toEqual([]);
  });
});
