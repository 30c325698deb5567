import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { ConfigError } from "../../components/values/config-error";
import { sizeToMegabytes } from "../../components/values/schema";

const host = { homeDir: "/home/me" };
const sandbox = (extra: Record<string, unknown> = {}) => ({ name: "main", workspace: "/home/me/code/app", ...extra });

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseStackConfig(raw, host);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("config was accepted");
}

describe("stack config defaults", () => {
  it("turns a config holding only the workspace into one working sandbox named main", () => {
    const config = parseStackConfig({ workspace: "/home/me/code/app" }, host);
    expect(config.sandboxes).toHaveLength(1);
    expect(config.sandboxes[0]).toMatchObject({
      name: "main",
      workspace: "/home/me/code/app",
      mode: "rw",
      agent: "claude",
      resources: { memory: "8g", swap: "0m", pids: 1024, openFiles: 8192 },
      acknowledgeUnsafe: [],
      privileged: false,
    });
    expect(config.image).toMatchObject({ agentUid: 1000, agentGid: 1000, platforms: [], push: false, baseImage: "debian:bookworm-slim" });
    expect(config.runs).toEqual([]);
  });

  it("converts Docker sizes to the megabytes the provider takes", () => {
    expect(sizeToMegabytes("8g")).toBe(8192);
    expect(sizeToMegabytes("512m")).toBe(512);
    expect(sizeToMegabytes("2048k")).toBe(2);
    // Rounded up: a limit never becomes smaller than asked, and never 0 ("no limit").
    expect(sizeToMegabytes("6145k")).toBe(7);
    expect(() => sizeToMegabytes("8GB")).toThrow(/not a size/);
  });

  it("accepts the smallest limits Docker enforces", () => {
    const config = parseStackConfig(
      { sandboxes: [sandbox({ resources: { memory: "6144k", cpus: 0.01, swap: "0k" }, healthcheck: { startPeriod: "1ms" } })] },
      host,
    );
    expect(config.sandboxes[0].resources).toMatchObject({ memory: "6144k", cpus: 0.01, swap: "0k" });
    expect(sizeToMegabytes(config.sandboxes[0].resources.memory)).toBe(6);
  });

  it("accepts an unsafe setting when the sandbox acknowledges it by name", () => {
    const config = parseStackConfig({ sandboxes: [sandbox({ privileged: true, acknowledgeUnsafe: ["privileged"] })] }, host);
    expect(config.sandboxes[0].privileged).toBe(true);
  });

  it("accepts a proxy of your own in open egress, where the sandbox sets none", () => {
    const config = parseStackConfig(
      { sandboxes: [sandbox({ egress: { mode: "open" }, acknowledgeUnsafe: ["open-egress"], env: { HTTPS_PROXY: "http://corp:3128" } })] },
      host,
    );
    expect(config.sandboxes[0].env).toEqual({ HTTPS_PROXY: "http://corp:3128" });
  });

  it("accepts credentials mounted read-only, the default for extra mounts", () => {
    const config = parseStackConfig(
      { sandboxes: [sandbox({ mounts: [{ source: "/home/me/.ssh/known_hosts", target: "/home/agent/.ssh/known_hosts" }] })] },
      host,
    );
    expect(config.sandboxes[0].mounts[0].readOnly).toBe(true);
  });
});

describe("bad stack config", () => {
  const table: [string, Record<string, unknown>, string[]][] = [
    [
      "a size written the wrong way",
      { sandboxes: [sandbox({ resources: { memory: "8GB" } })] },
      ['sandboxes[0].resources.memory: "8GB" is not a size; use "8g" or "512m"'],
    ],
    [
      "a memory limit of zero, which Docker reads as unlimited",
      { sandboxes: [sandbox({ resources: { memory: "0m" } })] },
      ['sandboxes[0].resources.memory: "0m" would remove the limit (Docker reads 0 as unlimited); use at least "6m", e.g. "8g" or "512m"'],
    ],
    [
      "a memory limit of zero kilobytes",
      { sandboxes: [sandbox({ resources: { memory: "0k" } })] },
      ['sandboxes[0].resources.memory: "0k" would remove the limit (Docker reads 0 as unlimited); use at least "6m", e.g. "8g" or "512m"'],
    ],
    [
      "a memory limit under Docker's 6 MB minimum",
      { sandboxes: [sandbox({ resources: { memory: "1k" } })] },
      ['sandboxes[0].resources.memory: "1k" is below 6m, the smallest limit Docker enforces; use e.g. "8g" or "512m"'],
    ],
    [
      "a memory limit just under the minimum",
      { sandboxes: [sandbox({ resources: { memory: "6143k" } })] },
      ['sandboxes[0].resources.memory: "6143k" is below 6m, the smallest limit Docker enforces; use e.g. "8g" or "512m"'],
    ],
    [
      "a memory limit that is a number",
      { sandboxes: [sandbox({ resources: { memory: 512 } })] },
      ['sandboxes[0].resources.memory: must be a size like "8g" or "512m"'],
    ],
    [
      "a swap size written the wrong way",
      { sandboxes: [sandbox({ resources: { swap: "-1" } })] },
      ['sandboxes[0].resources.swap: "-1" is not a size; use "0m" or "2g"'],
    ],
    [
      "a CPU share under Docker's minimum",
      { sandboxes: [sandbox({ resources: { cpus: 0.0001 } })] },
      ["sandboxes[0].resources.cpus: must be a number of CPUs of at least 0.01, the smallest share Docker enforces (e.g. 4 or 0.5)"],
    ],
    [
      "zero CPUs",
      { sandboxes: [sandbox({ resources: { cpus: 0 } })] },
      ["sandboxes[0].resources.cpus: must be a number of CPUs of at least 0.01, the smallest share Docker enforces (e.g. 4 or 0.5)"],
    ],
    [
      "CPUs given as a string",
      { sandboxes: [sandbox({ resources: { cpus: "-1" } })] },
      ["sandboxes[0].resources.cpus: must be a number of CPUs of at least 0.01, the smallest share Docker enforces (e.g. 4 or 0.5)"],
    ],
    [
      "an open-files limit that is not a number",
      { sandboxes: [sandbox({ resources: { openFiles: "many" } })] },
      ["sandboxes[0].resources.openFiles: must be a whole number of at least 256, e.g. 8192"],
    ],
    [
      "a fractional pids limit",
      { sandboxes: [sandbox({ resources: { pids: 100.5 } })] },
      ["sandboxes[0].resources.pids: must be a whole number of at least 32 (the agent CLI alone runs a dozen threads), e.g. 1024"],
    ],
    [
      "a zero healthcheck interval, which Docker reads as its default",
      { sandboxes: [sandbox({ healthcheck: { interval: "0s" } })] },
      ['sandboxes[0].healthcheck.interval: "0s" would make Docker use the image\'s or its own default instead; use at least "1ms", e.g. "15s"'],
    ],
    [
      "a zero start period, which Docker reads as the image's",
      { sandboxes: [sandbox({ healthcheck: { startPeriod: "0ms" } })] },
      ['sandboxes[0].healthcheck.startPeriod: "0ms" would make Docker use the image\'s or its own default instead; use at least "1ms", e.g. "5s"'],
    ],
    [
      "a healthcheck timeout in hours",
      { sandboxes: [sandbox({ healthcheck: { timeout: "1h" } })] },
      ['sandboxes[0].healthcheck.timeout: "1h" is not a duration; use e.g. "10s" (units ms, s, m)'],
    ],
    [
      "zero healthcheck retries, which Docker reads as the image's",
      { sandboxes: [sandbox({ healthcheck: { retries: 0 } })] },
      ["sandboxes[0].healthcheck.retries: must be a whole number of at least 1, e.g. 3"],
    ],
    [
      "a disk threshold over 100 percent",
      { sandboxes: [sandbox({ healthcheck: { maxDiskPercent: 150 } })] },
      ["sandboxes[0].healthcheck.maxDiskPercent: must be a whole number from 1 to 100 (percent of the disk), e.g. 95"],
    ],
    [
      "a sandbox name ending with a dash",
      { sandboxes: [sandbox({ name: "main-" })] },
      ['sandboxes[0].name: must be lowercase letters, digits and dashes, starting with a letter and not ending with a dash (e.g. "main")'],
    ],
    [
      "zero agent turns",
      { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main", prompt: "hi", maxTurns: 0 }] },
      ["runs[0].maxTurns: must be a whole number of at least 1, e.g. 20"],
    ],
    [
      "an agent UID past the largest Linux ID",
      { workspace: "/home/me/code/app", image: { agentUid: 2 ** 32 } },
      ["image.agentUid: must be a whole number from 1 to 4294967294 (a non-root UID; see runAsRoot to run as root), e.g. 1000"],
    ],
    [
      "an extra mount onto the workspace",
      { sandboxes: [sandbox({ mounts: [{ source: "/home/me/other", target: "/workspace/" }] })] },
      [
        'sandboxes[0].mounts[0].target: /workspace is where the sandbox mounts the workspace; choose another target, e.g. "/home/agent/.npmrc" or "/workspace/vendor"',
      ],
    ],
    [
      "an extra mount into the credentials folder",
      { sandboxes: [sandbox({ mounts: [{ source: "/home/me/key", target: "/run/agent-secrets/api-key" }] })] },
      ["sandboxes[0].mounts[0].target: /run/agent-secrets/api-key is inside /run/agent-secrets, the credentials volume; choose another target"],
    ],
    [
      "two extra mounts at one target",
      {
        sandboxes: [
          sandbox({
            mounts: [
              { source: "/home/me/a", target: "/opt/x" },
              { source: "/home/me/b", target: "/opt/x" },
            ],
          }),
        ],
      },
      ["sandboxes[0].mounts[1].target: /opt/x is already the target of mounts[0]; one mount per target"],
    ],
    [
      "a proxy variable the allowlist proxy sets",
      { sandboxes: [sandbox({ env: { HTTPS_PROXY: "http://corp:3128" } })] },
      [
        "sandboxes[0].env.HTTPS_PROXY: is set by the sandbox itself (the egress proxy's address; egress goes through it in allowlist mode) and would be overwritten; remove it",
      ],
    ],
    [
      "the healthcheck's disk threshold as env",
      { sandboxes: [sandbox({ env: { AGENT_HEALTH_MAX_DISK_PCT: "99" } })] },
      [
        "sandboxes[0].env.AGENT_HEALTH_MAX_DISK_PCT: is set by the sandbox itself (its healthcheck's disk threshold; set healthcheck.maxDiskPercent) and would be overwritten; remove it",
      ],
    ],
    [
      "a registry port past 65535",
      { workspace: "/home/me/code/app", image: { registry: { address: "127.0.0.1:99999" } } },
      ['image.registry.address: has a port outside 1-65535; use e.g. "127.0.0.1:5000"'],
    ],
    [
      "a relative workspace",
      { sandboxes: [sandbox({ workspace: "code/app" })] },
      ['sandboxes[0].workspace: "code/app" is not an absolute path; use e.g. "/home/me/code/project"'],
    ],
    ["a workspace of the wrong type", { workspace: 42 }, ['workspace: must be an absolute path like "/home/me/code/project"']],
    [
      "a misspelt key",
      { workspace: "/home/me/code/app", sandboxs: [] },
      ["sandboxs: unknown key (valid here: workspace, sandboxes, isolation, image, runs, docker, kubernetes, refresh)"],
    ],
    [
      "no sandbox at all",
      {},
      ['workspace: no sandbox configured; run `pulumi config set workspace "$PWD"` or set sandboxes: [{name: main, workspace: /path}]'],
    ],
    [
      "an uppercase sandbox name",
      { sandboxes: [sandbox({ name: "Main" })] },
      ['sandboxes[0].name: must be lowercase letters, digits and dashes, starting with a letter and not ending with a dash (e.g. "main")'],
    ],
    [
      "a pids limit too low to run the agent",
      { sandboxes: [sandbox({ resources: { pids: 8 } })] },
      ["sandboxes[0].resources.pids: must be a whole number of at least 32 (the agent CLI alone runs a dozen threads), e.g. 1024"],
    ],
    ["two sandboxes with one name", { sandboxes: [sandbox(), sandbox()] }, ['sandboxes[1].name: "main" is used twice; sandbox names must be unique']],
    [
      "a run in a sandbox that does not exist",
      { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "other", prompt: "hi" }] },
      ['runs[0].sandbox: "other" is not a configured sandbox; use one of: main'],
    ],
    ["an empty prompt", { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main", prompt: "" }] }, ["runs[0].prompt: must not be empty"]],
    [
      "a run with a prompt and a prompt file",
      { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main", prompt: "hi", promptFile: "prompts/fix.md" }] },
      ["runs[0].promptFile: set either prompt (the text itself) or promptFile (a file holding it), not both; remove one of the two"],
    ],
    [
      "a run with no prompt",
      { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main" }] },
      [
        'runs[0].prompt: missing; set prompt: "Review the last commit", or promptFile: "prompts/review.md" (a file holding the prompt; a long prompt must be one)',
      ],
    ],
    [
      "an empty prompt file path",
      { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main", promptFile: "" }] },
      ['runs[0].promptFile: must be a path like "prompts/review.md"'],
    ],
    [
      "a secret in plain sandbox env",
      { sandboxes: [sandbox({ env: { GITHUB_TOKEN: "ghx" } })] },
      [
        "sandboxes[0].env.GITHUB_TOKEN: looks like a secret and would be plain in state and docker inspect; use pulumi config set --secret (anthropicApiKey, openaiApiKey, gitToken)",
      ],
    ],
    [
      "an agent version that is a range",
      { workspace: "/home/me/code/app", image: { agentVersions: { claude: "^2" } } },
      ['image.agentVersions.claude: must be an exact version like "2.1.330"'],
    ],
    [
      "a platform Claude Code does not ship",
      { workspace: "/home/me/code/app", image: { platforms: ["linux/s390x"] } },
      ['image.platforms[0]: Invalid option: expected one of "linux/amd64"|"linux/arm64"'],
    ],
    [
      "a root agent UID",
      { workspace: "/home/me/code/app", image: { agentUid: 0 } },
      ["image.agentUid: must be a whole number from 1 to 4294967294 (a non-root UID; see runAsRoot to run as root), e.g. 1000"],
    ],
    [
      "a push without a registry",
      { workspace: "/home/me/code/app", image: { push: true } },
      ['image.push: pushing needs image.registry (e.g. {address: "127.0.0.1:5000"})'],
    ],
    [
      "a system folder as workspace",
      { sandboxes: [sandbox({ workspace: "/etc/nginx" })] },
      ["sandboxes[0].workspace: refused: /etc/nginx is inside /etc, host system files the sandbox must not see; mount a project folder instead"],
    ],
    [
      "~/.ssh mounted writable",
      { sandboxes: [sandbox({ mounts: [{ source: "/home/me/.ssh", target: "/home/agent/.ssh", readOnly: false }] })] },
      [
        "sandboxes[0].mounts[0].source: refused: /home/me/.ssh is inside ~/.ssh and mounted read-write, so the agent could add keys or edit known_hosts; mount it read-only",
      ],
    ],
    [
      "a credential file mounted writable",
      { sandboxes: [sandbox({ mounts: [{ source: "/home/me/.aws", target: "/home/agent/.aws", readOnly: false }] })] },
      ["sandboxes[0].mounts[0].source: refused: /home/me/.aws looks like a credential and would be writable by the agent; mount it with readOnly: true"],
    ],
    [
      "an agent this version does not know",
      { sandboxes: [sandbox({ agent: "gpt" })] },
      ['sandboxes[0].agent: must be an agent this version knows: "claude", "codex", "opencode"'],
    ],
    [
      "a remote engine given as a bare host",
      { workspace: "/home/me/code/app", docker: { host: "build-box" } },
      ['docker.host: must be a URL like "ssh://me@build-box" or "tcp://build-box:2376"'],
    ],
  ];

  it.each(table)("rejects %s with a message naming the key and a right value", (_, raw, expected) => {
    expect(problemsOf(raw)).toEqual(expected);
  });

  it("refuses a multi-arch build without a registry, saying what to set", () => {
    expect(problemsOf({ workspace: "/home/me/code/app", image: { platforms: ["linux/amd64", "linux/arm64"] } })).toEqual([
      'image.registry: building for 2 platforms (linux/amd64, linux/arm64) makes a multi-arch image, which only a registry can hold; set image.registry: {address: "ghcr.io", repository: "my-team/agent-sandbox", username: "me"} and pulumi config set --secret registryPassword <password>',
    ]);
  });

  it("reports every problem at once, structural and unsafe together", () => {
    const problems = problemsOf({
      sandboxes: [sandbox({ resources: { memory: "lots" }, privileged: true, extra: true })],
      image: { platforms: ["linux/amd64", "linux/arm64"] },
      runs: [{ name: "fix", sandbox: "nope", prompt: "x" }],
    });
    expect(problems.map((problem) => problem.split(":")[0])).toEqual([
      "sandboxes[0].resources.memory",
      "sandboxes[0].extra",
      "sandboxes[0].privileged",
      "image.registry",
      "runs[0].sandbox",
    ]);
  });

  const unsafe: [string, Record<string, unknown>, string, string, string[]?][] = [
    ["the Docker socket", { dockerSocket: true }, "dockerSocket", "docker-socket"],
    [
      "a Docker socket given as an extra mount",
      { mounts: [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] },
      "dockerSocket",
      "docker-socket",
    ],
    ["privileged mode", { privileged: true }, "privileged", "privileged"],
    // On the host network no credential proxy is reachable, so only a subscription login works there.
    ["the host network", { hostNetwork: true, auth: "subscription", egress: { mode: "open" } }, "hostNetwork", "host-network", ["open-egress"]],
    ["open egress", { egress: { mode: "open" } }, "egress.mode", "open-egress"],
    ["the host PID namespace", { hostPid: true }, "hostPid", "host-pid"],
    ["the host IPC namespace", { hostIpc: true }, "hostIpc", "host-ipc"],
    ["added capabilities", { capAdd: ["NET_ADMIN"] }, "capAdd", "added-capabilities"],
    ["running as root", { runAsRoot: true }, "runAsRoot", "root-user"],
    ["a workspace of /", { workspace: "/" }, "workspace", "host-root-mount"],
    ["the home folder itself as workspace", { workspace: "/home/me/" }, "workspace", "home-folder-mount"],
  ];

  it.each(unsafe)("refuses %s unless acknowledged, naming the acknowledgement", (_, extra, key, item, alsoNeeded = []) => {
    const [problem] = problemsOf({ sandboxes: [sandbox(extra)] });
    expect(problem).toMatch(
      new RegExp(`^sandboxes\\[0\\]\\.${key.replace(".", "\\.")}: refused because .+; if you accept that, add "${item}" to acknowledgeUnsafe of this sandbox$`),
    );
    expect(() => parseStackConfig({ sandboxes: [sandbox({ ...extra, acknowledgeUnsafe: [item, ...alsoNeeded] })] }, host)).not.toThrow();
  });

  it.each([
    ["/", "host-root-mount"],
    ["/home/me", "home-folder-mount"],
  ])("asks for the same acknowledgement when %s comes as an extra mount", (source, item) => {
    const extra = { mounts: [{ source, target: "/host" }] };
    expect(problemsOf({ sandboxes: [sandbox(extra)] })).toEqual([
      expect.stringMatching(
        new RegExp(`^sandboxes\\[0\\]\\.mounts\\[0\\]\\.source: refused because .+; if you accept that, add "${item}" to acknowledgeUnsafe of this sandbox$`),
      ),
    ]);
    expect(() => parseStackConfig({ sandboxes: [sandbox({ ...extra, acknowledgeUnsafe: [item] })] }, host)).not.toThrow();
  });

  it("refuses the Docker socket's folder even when the socket is acknowledged", () => {
    const extra = { mounts: [{ source: "/var/run", target: "/host-run" }], acknowledgeUnsafe: ["docker-socket"] };
    expect(problemsOf({ sandboxes: [sandbox(extra)] })).toEqual([
      "sandboxes[0].mounts[0].source: refused: /var/run is inside /var/run, host system files the sandbox must not see; mount a project folder instead",
    ]);
  });

  it("judges the workspace shortcut by the same rules as a sandbox's workspace", () => {
    expect(problemsOf({ workspace: "/etc" })).toEqual([
      "workspace: refused: /etc is inside /etc, host system files the sandbox must not see; mount a project folder instead",
    ]);
  });

  it("refuses the host network with an egress policy it would bypass", () => {
    expect(problemsOf({ sandboxes: [sandbox({ hostNetwork: true, auth: "subscription", acknowledgeUnsafe: ["host-network"] })] })).toEqual([
      'sandboxes[0].hostNetwork: the host network bypasses any egress policy; also set egress.mode: "open" (acknowledged as open-egress)',
    ]);
  });

  it("refuses the host network under auth proxy (the default), on the auth key: no credential proxy can be reached there", () => {
    const onHost = { hostNetwork: true, egress: { mode: "open" }, acknowledgeUnsafe: ["host-network", "open-egress"] };
    const refusal =
      'sandboxes[0].auth: a sandbox on the host network cannot reach a credential proxy, so its agent has no key; set auth: "subscription" (a login kept in its home volume) or drop hostNetwork';
    expect(problemsOf({ sandboxes: [sandbox(onHost)] })).toEqual([refusal]);
    expect(problemsOf({ sandboxes: [sandbox({ ...onHost, auth: "proxy" })] })).toEqual([refusal]);
    expect(() => parseStackConfig({ sandboxes: [sandbox({ ...onHost, auth: "subscription" })] }, host)).not.toThrow();
  });

  it("refuses the home folder given through the workspace shortcut", () => {
    expect(problemsOf({ workspace: "/home/me" })[0]).toMatch(
      /^workspace: refused because mounting your whole home folder exposes every key and token you own; .*acknowledgeUnsafe: \[home-folder-mount\]$/,
    );
  });
});
