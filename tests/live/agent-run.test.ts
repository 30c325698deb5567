/**
 * Live proof of the agent-run, secret and image promises: the REAL program (index.ts) deployed on the local
 * engine through the live harness, its agent runs driven by the real Claude Code CLI inside the sandbox
 * against the Messages API stand-in on the host (over TLS, the sandbox's apiUpstream), reached only through
 * the sandbox's credential proxy.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { sandboxObjectNames } from "../../components/engine/naming";
import { type LiveStack, secretConfig } from "../../testkit/harness";
import { docker, inspectContainer, labelArgs, logsOf, networkGateway, testLabels } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import {
  AGENT_GID,
  AGENT_UID,
  agentWorkspace,
  execIn,
  type HostService,
  LiveSuite,
  LOCAL_IMAGES,
  liveConfig,
  PROJECT,
  sandboxEntry,
  startHostService,
  TEST_CA_BUNDLE,
  testTls,
} from "../../testkit/live/live-program";
import { WRITTEN_CONTENT, WRITTEN_FILE } from "./support/claude-scenarios";

const STACK = `agentrun-${process.pid}`;
const FAILING_STACK = `agentfail-${process.pid}`;
const API_KEY = `test-key-${randomBytes(12).toString("hex")}`;
/** Quotes, a command substitution and a newline: a shell reading the prompt would mangle or run it. */
const PROMPT = `Create ${WRITTEN_FILE} saying "hello" and 'hi', never run $(touch /tmp/pwned) or \`id\`;\nthen say you are done.`;
const FINAL_TEXT = `Created ${WRITTEN_FILE} for you.`;
const ADDED_NAME = "registry.example.com";
/** The Claude Code release the program pins when the stack config names none (these stacks name none). */
const PINNED_VERSION = parseStackConfig({ workspace: "/tmp" }, { homeDir: "/nonexistent" }).image.agentVersions.claude;

const SCRIPT: ScriptedTurn[] = [
  { kind: "tool_use", name: "Write", input: { file_path: `/workspace/${WRITTEN_FILE}`, content: WRITTEN_CONTENT }, text: `I'll create ${WRITTEN_FILE}.` },
  { kind: "text", text: FINAL_TEXT },
];
const FAILING_SCRIPT: ScriptedTurn[] = [
  { kind: "error", status: 400, errorType: "invalid_request_error", message: "scripted refusal for the live test", times: Infinity },
];

let probe: HostService;
let api: FakeMessagesApi;
let failingApi: FakeMessagesApi;
let workspace: string;
const suite = new LiveSuite(STACK);

const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
/** The sandbox's credential proxy container (issue #14): `<project>-<stack>-<sandbox>-credential-proxy`. */
const CREDENTIAL_PROXY = `${PROJECT}-${STACK}-main-credential-proxy`;

function configFor(apiPort: number, options: { allow?: string[]; env?: Record<string, string>; workspace: string }) {
  return liveConfig({
    sandboxes: [
      sandboxEntry({
        name: "main",
        workspace: options.workspace,
        probe,
        apiPort,
        egress: options.allow ? { allow: options.allow } : {},
        extra: { env: { ...options.env } },
      }),
    ],
    runs: [{ name: "write-hello", sandbox: "main", prompt: PROMPT, maxTurns: 5 }],
    anthropicApiKey: secretConfig(API_KEY),
  });
}

const agentImageId = (deployed: LiveStack) => (deployed.outputs.agentImage as { imageId: string }).imageId;
const containerId = async (name: string) => (await inspectContainer(name)).Id;
const runCommand = (deployed: LiveStack) => deployed.resources.find((r) => r.type === "command:local:Command" && r.name === "run-write-hello");

/**
 * The full-width base64 lines of one PEM block of a bundle (index -1: the last one, where Debian's
 * update-ca-certificates puts local additions, after the public CAs).
 */
function certificateLines(bundle: string, index: number): string[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const block = blocks.at(index);
  if (!block) throw new Error(`no certificate at index ${index} of a bundle of ${blocks.length}`);
  return block.split("\n").filter((line) => /^[A-Za-z0-9+/=]{64}$/.test(line));
}

/** Counts occurrences of each needle in the stdout of a command, streamed (an image tar is hundreds of MB). */
function countInStream(command: string, args: string[], needles: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const targets = needles.map((needle) => Buffer.from(needle));
    const keep = Math.max(...targets.map((target) => target.length)) - 1;
    const counts = targets.map(() => 0);
    let tail = Buffer.alloc(0);
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const window = Buffer.concat([tail, chunk]);
      targets.forEach((target, index) => {
        // Matches lying wholly inside the kept tail were counted with the previous chunk.
        for (let at = window.indexOf(target); at !== -1; at = window.indexOf(target, at + 1)) {
          if (at + target.length > tail.length) counts[index] += 1;
        }
      });
      tail = window.subarray(Math.max(0, window.length - keep));
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(counts) : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}

describe("agent runs of the real program (live)", () => {
  beforeAll(async () => {
    if (!(await suite.engineReady())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    failingApi = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: FAILING_SCRIPT });
    workspace = agentWorkspace("agent-run-live-");
    await suite.deploySuiteStack(configFor(api.port, { workspace }));
  });

  afterAll(async () => {
    await suite.teardown();
    await Promise.all([probe?.close(), api?.close(), failingApi?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("builds the image on the local base with the machine CAs and the test CA as a build secret, runs the pinned CLI, and keeps the CA out of every layer", async (context) => {
    const deployed = suite.requireDeployed(context);
    const build = deployed.resources.find((r) => r.type === "docker-build:index:Image" && r.name === "agent");
    const buildArgs = (build?.inputs.buildArgs ?? {}) as Record<string, string>;
    expect(buildArgs.BASE_IMAGE, JSON.stringify(buildArgs)).toBe(LOCAL_IMAGES.baseImage);
    expect((build?.inputs.secrets as Record<string, string> | undefined)?.extra_ca, "the live CA bundle is not the extra_ca build secret").toBe(
      fs.readFileSync(TEST_CA_BUNDLE, "utf8"),
    );
    // The runtime stage sits on the local base: its layers are the first layers of the agent image.
    const layers = async (ref: string) => JSON.parse(await docker("inspect", "-f", "{{json .RootFS.Layers}}", ref)) as string[];
    const [baseLayers, agentLayers] = [await layers(LOCAL_IMAGES.baseImage), await layers(agentImageId(deployed))];
    expect(agentLayers.slice(0, baseLayers.length)).toEqual(baseLayers);
    const version = await execIn(NAMES.container, "claude --version");
    expect(version.output, JSON.stringify(version)).toContain(PINNED_VERSION);

    // The bundle's last certificate is the test CA (testkit/live/test-ca.ts), after the machine's.
    const bundle = fs.readFileSync(TEST_CA_BUNDLE, "utf8");
    const lines = certificateLines(bundle, -1);
    // A body line (not the first, which many certificates share) that occurs once in the bundle.
    const needle = lines.slice(1).find((line) => bundle.split(line).length === 2);
    expect(needle, `no unique line in the last certificate of ${TEST_CA_BUNDLE}`).toBeDefined();
    const baseBundle = await docker(
      "run",
      "--rm",
      "--network",
      "none",
      ...labelArgs(testLabels(STACK)),
      LOCAL_IMAGES.baseImage,
      "cat",
      "/etc/ssl/certs/ca-certificates.crt",
    );
    expect(baseBundle, "the base image already has the bundle's last certificate, so it proves nothing").not.toContain(needle);

    const image = agentImageId(deployed);
    const history = await docker("history", "--no-trunc", image);
    expect(history.includes(needle!), `CA line found in docker history of ${image}:\n${history}`).toBe(false);
    // Control: a line of the base bundle's first public CA is found the same way, so the search does see layer contents.
    const control = certificateLines(baseBundle, 0)[1];
    const [inSave, controlInSave] = await countInStream("docker", ["save", image], [needle!, control]);
    expect(controlInSave, `the search found no public CA line (${control}) in docker save ${image}: it cannot see layers`).toBeGreaterThan(0);
    expect(inSave, `CA line found ${inSave} times in docker save ${image}`).toBe(0);
  });

  it("runs the agent through the command resource: the real CLI writes the file and the stand-in sees the prompt and key", async (context) => {
    const deployed = suite.requireDeployed(context);
    const evidence = JSON.stringify({ runOutputs: deployed.outputs.runOutputs, requests: api.requests.length, stdout: runCommand(deployed)?.outputs.stdout });
    const result = (deployed.outputs.runOutputs as Record<string, { success: boolean; result: string; turns: number }>)["write-hello"];
    expect(result, evidence).toMatchObject({ success: true, result: FINAL_TEXT });
    expect(result.turns, evidence).toBeGreaterThanOrEqual(2);

    const file = path.join(workspace, WRITTEN_FILE);
    expect(fs.existsSync(file), evidence).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe(WRITTEN_CONTENT);
    const owner = fs.statSync(file);
    expect(`${owner.uid}:${owner.gid}`).toBe(`${AGENT_UID}:${AGENT_GID}`);

    const scripted = api.requests.filter((request) => request.scriptIndex !== undefined);
    const first = JSON.stringify(scripted[0]?.body ?? null);
    // The prompt is the user message's text, byte for byte (JSON-escaped as sent).
    expect(first.includes(JSON.stringify(PROMPT).slice(1, -1)), `prompt not found in the first request: ${first.slice(0, 4000)}`).toBe(true);
    expect(scripted.length, evidence).toBeGreaterThanOrEqual(2);
    expect(new Set(scripted.map((request) => request.apiKey))).toEqual(new Set([API_KEY]));
    expect((await execIn(NAMES.container, "test -e /tmp/pwned && echo ran || echo clean")).output.trim()).toBe("clean");
  });

  it("keeps the API key out of inspect, history, logs, stack outputs and the run's recorded output", async (context) => {
    const deployed = suite.requireDeployed(context);
    const places: Record<string, string> = {
      "sandbox Config.Env": JSON.stringify((await inspectContainer(NAMES.container)).Config.Env),
      "proxy Config.Env": JSON.stringify((await inspectContainer(NAMES.proxyContainer)).Config.Env),
      "agent image history": await docker("history", "--no-trunc", agentImageId(deployed)),
      "sandbox logs": await logsOf(NAMES.container),
      "proxy logs": await logsOf(NAMES.proxyContainer),
      // The credential proxy holds the key in its secrets volume, never in its configuration or its log.
      "credential proxy Config.Env": JSON.stringify((await inspectContainer(CREDENTIAL_PROXY)).Config.Env),
      "credential proxy logs": await logsOf(CREDENTIAL_PROXY),
      "stack outputs": JSON.stringify(deployed.outputs),
      "run stdout": String(runCommand(deployed)?.outputs.stdout ?? ""),
      "run stderr": String(runCommand(deployed)?.outputs.stderr ?? ""),
    };
    expect(runCommand(deployed), "the run command resource was not realized").toBeDefined();
    const leaks = Object.entries(places)
      .filter(([, text]) => text.includes(API_KEY))
      .map(([place]) => place);
    expect(leaks).toEqual([]);
  });

  it("reaches the stand-in only through the credential proxy: the egress proxy neither forwards nor allows it, a direct connection fails", async (context) => {
    suite.requireDeployed(context);
    expect(api.credentialProblems(API_KEY)).toEqual([]);
    // The apiUpstream is the credential proxy's business: the sandbox's egress proxy never saw the API's port
    // and refuses it (it is in no hostPorts), so the stand-in's requests all came from the credential proxy.
    const log = await logsOf(NAMES.proxyContainer);
    expect(log.includes(`${HOST_GATEWAY_NAME}:${api.port}`), log.slice(-4000)).toBe(false);
    const throughEgress = await execIn(NAMES.container, `curl -sS --max-time 5 -k https://${HOST_GATEWAY_NAME}:${api.port}/v1/messages`);
    expect(throughEgress.exitCode, `the egress proxy let the sandbox reach the API upstream: ${JSON.stringify(throughEgress)}`).not.toBe(0);

    for (const target of [HOST_GATEWAY_NAME, await networkGateway("bridge"), await networkGateway(NAMES.proxyNetwork)]) {
      const direct = await execIn(NAMES.container, `curl -sS --noproxy '*' --max-time 3 -k https://${target}:${api.port}/`);
      expect(direct.exitCode, `${target}:${api.port} answered without the proxy: ${JSON.stringify(direct)}`).not.toBe(0);
    }
  });

  it("applies a changed allowlist on redeploy by replacing the proxy only, without rebuilding the agent image", async (context) => {
    const before = suite.requireDeployed(context);
    const ids = { image: agentImageId(before), sandbox: await containerId(NAMES.container), proxy: await containerId(NAMES.proxyContainer) };
    const after = await suite.deploy(STACK, configFor(api.port, { workspace, allow: [ADDED_NAME] }));
    const now = { image: agentImageId(after), sandbox: await containerId(NAMES.container), proxy: await containerId(NAMES.proxyContainer) };
    expect(now.image, JSON.stringify({ ids, now })).toBe(ids.image);
    expect(now.sandbox, JSON.stringify({ ids, now })).toBe(ids.sandbox);
    expect(now.proxy, JSON.stringify({ ids, now })).not.toBe(ids.proxy);
    const env = (await inspectContainer(NAMES.proxyContainer)).Config.Env;
    const encoded = env.find((entry) => entry.startsWith("SQUID_CONF_B64="));
    expect(encoded, JSON.stringify(env)).toBeDefined();
    expect(Buffer.from(encoded!.slice("SQUID_CONF_B64=".length), "base64").toString("utf8")).toContain(ADDED_NAME);
  });

  it("fails the run resource with the agent's own error when the API refuses", async (context) => {
    suite.requireDeployed(context);
    const failingWorkspace = agentWorkspace("agent-run-fail-");
    try {
      const outcome = await suite
        .deploy(FAILING_STACK, configFor(failingApi.port, { workspace: failingWorkspace, env: { CLAUDE_CODE_MAX_RETRIES: "0" } }))
        .then(
          (deployed) => ({ deployed }),
          (error: unknown) => ({ error }),
        );
      expect("error" in outcome, `the deploy succeeded: ${JSON.stringify((outcome as { deployed?: LiveStack }).deployed?.outputs)}`).toBe(true);
      const message = (outcome as { error: Error }).error.message;
      // The script's own report: its failure line followed by the stream's last lines, the CLI's result line with the API's error among them.
      expect(message).toMatch(
        /agent run failed \(exit [1-9]\d*\):\n(?:[^\n]*\n){0,2}\{[^\n]*"result":"API Error: 400 scripted refusal for the live test"[^\n]*"type":"result"/,
      );
      expect(message.includes(API_KEY), "the failure message carries the API key").toBe(false);
    } finally {
      fs.rmSync(failingWorkspace, { recursive: true, force: true });
    }
  });
});
