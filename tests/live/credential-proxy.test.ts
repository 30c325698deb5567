/**
 * Issue #14, "keys never enter the sandbox", proven with the real Pulumi CLI, the real Claude Code CLI and
 * the real git client: the sandbox's credential proxy adds the Anthropic API key for the stand-in API
 * (its apiUpstream, over TLS) and the git token for the one listed repository of the stand-in git server
 * (egress.gitRepos, over TLS), while neither secret is anywhere in the sandbox: not in a file, a process's
 * environment or command line, a mount, docker inspect, an answer of the credential proxy, the stack's
 * exported state (ciphertext only) or the run's outputs. An unlisted repository is refused by the proxy
 * with a message naming egress.gitRepos, and the git host is not reachable through the egress proxy.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { sandboxObjectNames } from "../../components/engine/naming";
import { AGENT_USER, docker, logsOf, waitHealthy } from "../../testkit/live/engine";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { basicAuthorization, type GitServer, gitAvailability, startGitServer } from "../../testkit/live/git-server";
import { agentWorkspace, execIn, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { scanForSecrets } from "../../testkit/live/secret-scan";

const STACK = `credproxy-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
/** The sandbox's credential proxy: `<project>-<stack>-<sandbox>-credential-proxy`. */
const CREDENTIAL_PROXY = `${NAMES.container}-credential-proxy`;
/** Random secrets in the characters real keys and tokens use; every test looks for both. */
const API_KEY = `sk-ant-test-${randomBytes(20).toString("hex")}`;
const GIT_TOKEN = `ghs_test${randomBytes(18).toString("hex")}`;
const SECRETS = { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN } as const;
/** The sandbox's view of the API and of git hosts (the contract of #14). */
const API_BASE = "http://credential-proxy:8080";
const GIT_BASE = "http://credential-proxy:8081";

/** The agent shows its API settings with one Bash call: its tool result reaches the stand-in, which must not see the key there. */
const SHOW_SETTINGS = "printenv ANTHROPIC_BASE_URL";
const SCRIPT = [
  { kind: "tool_use", name: "Bash", input: { command: SHOW_SETTINGS, description: "show the API settings" }, text: "Checking the settings." },
  { kind: "text", text: "Done." },
] as const;

const gate = new PulumiGate();
const git = gitAvailability();
let probe: HostService | undefined;
let api: FakeMessagesApi | undefined;
let gitServer: GitServer | undefined;
let workspace = "";
let stack: RealStack | undefined;
let deployed: Promise<void> | undefined;

/** Skips without engine, CLI or host git (REQUIRE_DOCKER=1 / REQUIRE_PULUMI=1 fail instead, in beforeAll); runs `pulumi up` once for all tests. */
async function upOnce(context: TestContext): Promise<{ api: FakeMessagesApi; gitServer: GitServer; stack: RealStack }> {
  gate.requireCli(context);
  if (!git.available) context.skip(git.reason);
  deployed ??= stack!.pulumi(["up", "--yes", "--skip-preview"]).then(() => undefined);
  await deployed;
  return { api: api!, gitServer: gitServer!, stack: stack! };
}

/** The secrets' names found in `text`: none is the only good answer. */
const secretsIn = (text: string): string[] =>
  Object.entries(SECRETS)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);

describe("keys never enter the sandbox: the credential proxy (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    if (!git.available) {
      console.warn(`[live] skipped: ${git.reason}`);
      return;
    }
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    gitServer = await startGitServer({ host: "0.0.0.0", port: 0, tls: testTls(), token: GIT_TOKEN, repos: ["org/allowed", "org/other"] });
    workspace = agentWorkspace("agent-sandbox-credproxy-");
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        sandboxes: [
          sandboxEntry({
            name: "main",
            workspace,
            probe,
            apiPort: api.port,
            egress: { gitRepos: [`${HOST_GATEWAY_NAME}:${gitServer.port}/org/allowed`] },
          }),
        ],
        runs: [{ name: "main", sandbox: "main", prompt: "Show the API settings.", maxTurns: 4, allowedTools: [`Bash(${SHOW_SETTINGS})`] }],
      }),
    );
    for (const [key, value] of Object.entries(SECRETS)) await stack.setSecret(key, value);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close(), gitServer?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("runs the real agent through the credential proxy: the stand-in API got the key as x-api-key only, the agent never saw it", async (context) => {
    const { api, stack } = await upOnce(context);
    const proxy = await waitHealthy(CREDENTIAL_PROXY);
    expect(`${proxy.State.Status} ${proxy.State.Health?.Status ?? "no healthcheck"}`, "the credential proxy container").toBe("running healthy");
    const runs = (await stack.outputs()).runOutputs;
    expect(runs.main, JSON.stringify(runs)).toMatchObject({ success: true, result: "Done." });

    const scripted = api.requests.filter((request) => request.scriptIndex !== undefined);
    expect(scripted.length, JSON.stringify(api.requests.map((request) => request.path))).toBeGreaterThanOrEqual(2);
    // The key arrived where the API reads it and nowhere else; the tool result (the agent's view) is in the bodies checked.
    expect(api.credentialProblems(API_KEY)).toEqual([]);
    expect(secretsIn(JSON.stringify(api.requests))).toEqual(["anthropicApiKey"]);
    const toolResults = JSON.stringify(scripted.at(-1)?.body ?? null);
    expect(toolResults, "the Bash tool's result did not reach the API").toContain("tool_result");
    expect(toolResults, "the agent's ANTHROPIC_BASE_URL is not the credential proxy").toContain(API_BASE);
  });

  it("has neither secret in any file, process environment, command line or mount of the sandbox, as the agent or as root, nor in docker inspect", async (context) => {
    await upOnce(context);
    for (const user of [AGENT_USER, "0"]) {
      const scan = await scanForSecrets(NAMES.container, user, [API_KEY, GIT_TOKEN]);
      const evidence = `as ${user}:\n${scan.output.slice(-4000)}`;
      // Each user reads at least its own processes' files: the scan saw something.
      expect(scan.environ, evidence).toBeGreaterThan(0);
      expect(scan.cmdline, evidence).toBeGreaterThan(0);
      expect(scan.leaks, evidence).toEqual([]);
      // The output itself, secrets or not, is checked too: a failing grep must not have printed them.
      expect(secretsIn(scan.output), evidence).toEqual([]);
    }
    for (const container of [NAMES.container, NAMES.proxyContainer, CREDENTIAL_PROXY]) {
      expect(secretsIn(await docker("inspect", container)), `docker inspect ${container}`).toEqual([]);
    }
  });

  it("answers nothing that carries either secret to requests from inside the sandbox", async (context) => {
    const { gitServer } = await upOnce(context);
    const git = `${GIT_BASE}/${HOST_GATEWAY_NAME}:${gitServer.port}`;
    // A side call (no tools, few tokens): the stand-in answers it without using up the script.
    const sideCall = JSON.stringify({ model: "claude-test", max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
    const requests = {
      "api root": `curl -sS -i --max-time 20 ${API_BASE}/`,
      "api messages": `curl -sS -i --max-time 20 -X POST -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -d '${sideCall}' ${API_BASE}/v1/messages`,
      "git anything": `curl -sS -i --max-time 20 ${GIT_BASE}/anything`,
      "git listed repository": `curl -sS -i --max-time 20 '${git}/org/allowed/info/refs?service=git-upload-pack'`,
      "git unlisted repository": `curl -sS -i --max-time 20 '${git}/org/other/info/refs?service=git-upload-pack'`,
    };
    const answers: Record<string, string> = {};
    for (const [name, command] of Object.entries(requests)) {
      const answer = await execIn(NAMES.container, command);
      answers[name] = answer.output;
      expect(secretsIn(answer.output), `${name}: ${command}`).toEqual([]);
    }
    // The answers came from behind the proxy, so the check saw real forwarding: the stand-ins' own replies.
    expect(answers["api messages"], answers["api messages"]).toContain("msg_fake_");
    expect(answers["git listed repository"], answers["git listed repository"]).toContain("# service=git-upload-pack");
    expect(answers["git unlisted repository"], answers["git unlisted repository"]).toContain("egress.gitRepos");
  });

  it("lets git in the sandbox clone and push the listed repository with the token added outside, refuses another, and keeps the git host off the egress proxy", async (context) => {
    const { gitServer } = await upOnce(context);
    const host = `${HOST_GATEWAY_NAME}:${gitServer.port}`;
    const before = gitServer.requests.length;
    const pushed = await execIn(
      NAMES.container,
      [
        "set -e",
        "work=$(mktemp -d -p /workspace)",
        'cd "$work"',
        `git clone https://${host}/org/allowed allowed`,
        "cd allowed",
        "echo 'from the sandbox' > sandbox.txt",
        "git add sandbox.txt",
        "git -c user.name=agent -c user.email=agent@example.invalid commit -q -m 'pushed from the sandbox'",
        "git push origin main",
        'rm -rf "$work"',
      ].join("\n"),
    );
    expect(pushed.exitCode, pushed.output).toBe(0);
    expect(gitServer.log("org/allowed")).toEqual(["pushed from the sandbox", "initial commit"]);
    const seen = gitServer.requests.slice(before);
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThan(0);
    // Every request the proxy sent carried the token, the way the host wants it; the push went through.
    expect(
      seen.every((request) => request.authorized && request.authorization === basicAuthorization(GIT_TOKEN)),
      JSON.stringify(seen),
    ).toBe(true);
    expect(seen.some((request) => request.method === "POST" && request.path.includes("git-receive-pack") && request.status === 200)).toBe(true);
    expect(secretsIn(pushed.output)).toEqual([]);

    const refused = await execIn(NAMES.container, `cd "$(mktemp -d -p /workspace)" && git clone https://${host}/org/other other`);
    expect(refused.exitCode, refused.output).not.toBe(0);
    expect(refused.output).toContain("egress.gitRepos");
    expect(secretsIn(refused.output)).toEqual([]);
    // The proxy answered itself: the git host never saw a request for the unlisted repository.
    expect(
      gitServer.requests.filter((request) => request.path.startsWith("/org/other")),
      JSON.stringify(gitServer.requests),
    ).toEqual([]);

    // The sandbox's only other way out is its egress proxy, and the git host is no host port of it. -k: a
    // refused CONNECT is the only failure left (the sandbox trusts the test CA anyway, through the bundle).
    const count = gitServer.requests.length;
    const viaEgress = await execIn(NAMES.container, `curl -sS -k --max-time 10 https://${host}/`);
    expect(viaEgress.exitCode, `the git host answered through the egress proxy: ${viaEgress.output}`).not.toBe(0);
    const direct = await execIn(NAMES.container, `curl -sS -k --noproxy '*' --max-time 5 https://${host}/`);
    expect(direct.exitCode, `the git host answered a direct connection: ${direct.output}`).not.toBe(0);
    expect(gitServer.requests.length, JSON.stringify(gitServer.requests.slice(count))).toBe(count);
  });

  it("keeps both secrets out of the exported state (ciphertext only), the stack file, the run's outputs and the containers' logs", async (context) => {
    const { stack } = await upOnce(context);
    const exported = (await stack.pulumi(["stack", "export"])).stdout;
    expect(secretsIn(exported)).toEqual([]);
    expect(exported, "the export holds no secret at all: did the stack get its secrets?").toContain("ciphertext");
    expect(secretsIn(stack.stateText())).toEqual([]);
    expect(secretsIn(fs.readFileSync(`${stack.programDir}/Pulumi.${STACK}.yaml`, "utf8"))).toEqual([]);
    // The outputs with their secrets shown: a run's result, stdout or report never carries a key.
    expect(secretsIn(JSON.stringify(await stack.outputs()))).toEqual([]);
    for (const container of [NAMES.container, NAMES.proxyContainer, CREDENTIAL_PROXY]) {
      expect(secretsIn(await logsOf(container)), `docker logs ${container}`).toEqual([]);
    }
  });

  it("takes a rotated key on the next up: the proxy re-reads its files, and neither it nor the sandbox is replaced", async (context) => {
    const { api, stack } = await upOnce(context);
    const identities = () => docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}}", CREDENTIAL_PROXY, NAMES.container);
    const before = await identities();
    const rotated = `sk-ant-test-${randomBytes(20).toString("hex")}`;
    await stack.setSecret("anthropicApiKey", rotated);
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    expect(await identities()).toBe(before);

    const sent = api.requests.length;
    const sideCall = JSON.stringify({ model: "claude-test", max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
    const answer = await execIn(
      NAMES.container,
      `curl -sS --max-time 20 -X POST -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -d '${sideCall}' ${API_BASE}/v1/messages`,
    );
    expect(answer.output).toContain("msg_fake_");
    expect(api.requests.slice(sent).map((request) => request.apiKey === rotated)).toEqual([true]);
    expect(answer.output).not.toContain(rotated);
  });
});
