/**
 * Long prompts on the real Pulumi CLI: a 200 KB prompt given inline never reaches the program (the CLI hands
 * it the whole config in one environment variable, capped at 128 KiB), so `npm run up|preview` refuse it
 * first, naming the key and the fix; the same prompt as `promptFile` (relative to the project folder) reaches
 * the agent byte for byte through the real command provider, the sandbox and the credential proxy, to the
 * Messages API stand-in; a new version of the file re-runs the run. And the size the scripts compute is the
 * very size of the CLI's PULUMI_CONFIG.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { pulumiConfigEnvBytes } from "../../scripts/pulumi-config-env";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { agentWorkspace, type HostService, liveConfig, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack, replacedBy, typeAndName } from "../../testkit/live/pulumi-cli";

const STACK = `promptfile-${process.pid}`;
const PROMPT_FILE = "prompts/long.md";
/** 200 KB: quotes, a command substitution, `<` and `&`, two- to four-byte UTF-8, and no newline at the end. */
const promptOf = (version: string) =>
  `${`Lis "ceci" <b> & $(touch /tmp/pwned) — naïve café, 東京, 🦀 ${version}.\n`.repeat(3300)}Version ${version}, no newline after it.`;
const FIRST = promptOf("one");
const SECOND = promptOf("two");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;

function configFor(run: Record<string, unknown>): Record<string, unknown> {
  return liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [sandboxEntry({ name: "main", workspace, probe, apiPort: api.port })],
    runs: [{ name: "long", sandbox: "main", maxTurns: 2, ...run }],
  });
}

/** The texts of the last user message of every main-loop request: the prompt is one of them, as sent. */
function lastUserTexts(): string[] {
  return api.requests
    .filter((request) => request.scriptIndex !== undefined)
    .flatMap((request) => {
      const messages = (request.body as { messages?: { role: string; content: unknown }[] }).messages ?? [];
      const content = messages.filter((message) => message.role === "user").at(-1)?.content;
      if (typeof content === "string") return [content];
      return Array.isArray(content)
        ? content.flatMap((block: { type?: string; text?: string }) => (block.type === "text" && block.text ? [block.text] : []))
        : [];
    });
}

/** Evidence for a failed comparison: sizes and hashes of what arrived, never 200 KB of text. */
const described = (texts: string[]) =>
  texts.map((text) => `${Buffer.byteLength(text)} bytes sha256:${sha256(text)} …${JSON.stringify(text.slice(-60))}`).join("\n");

describe("long prompts (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({
      host: "0.0.0.0",
      port: 0,
      tls: testTls(),
      script: [
        { kind: "text", text: "Read it." },
        { kind: "text", text: "Read it again." },
      ],
    });
    workspace = agentWorkspace("agent-sandbox-promptfile-");
    stack = await RealStack.create(STACK);
    fs.mkdirSync(path.join(stack.programDir, "prompts"));
    fs.writeFileSync(path.join(stack.programDir, PROMPT_FILE), FIRST);
    stack.setConfig(configFor({ promptFile: PROMPT_FILE }));
    await stack.setSecret("anthropicApiKey", `test-key-${process.pid}`);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("computes the size of PULUMI_CONFIG to the byte, as the CLI hands it to the program", async (context) => {
    gate.requireCli(context);
    // A program of its own in the copy that only measures what it was handed; the stack's secret goes, so
    // the stack file holds every byte the CLI passes on (a secret counts at its ciphertext, an upper bound).
    const measuring = await RealStack.create(`${STACK}-measure`, { entry: "measure.js" });
    const measured = path.join(measuring.root, "pulumi-config-bytes");
    try {
      fs.writeFileSync(
        path.join(measuring.programDir, "measure.js"),
        `require("fs").writeFileSync(${JSON.stringify(measured)}, String(Buffer.byteLength("PULUMI_CONFIG=" + process.env.PULUMI_CONFIG) + 1));\n`,
      );
      measuring.setConfig(configFor({ prompt: `${'"quoted" <tag> & \\ back\ttab\n'.repeat(200)}naïve 東京 🦀` }));
      await measuring.pulumi(["preview"]);
      const config = (parse(fs.readFileSync(path.join(measuring.programDir, `Pulumi.${measuring.stack}.yaml`), "utf8")) as { config: Record<string, unknown> })
        .config;
      const handed = Number(fs.readFileSync(measured, "utf8"));
      console.log(`[prompt-file] PULUMI_CONFIG as the CLI handed it: ${handed} bytes; computed from the stack file: ${pulumiConfigEnvBytes(config)}`);
      expect(handed).toBe(pulumiConfigEnvBytes(config));
    } finally {
      await measuring.remove();
    }
  });

  it("stops an inline 200 KB prompt: the CLI cannot start the program, and npm run preview names runs[0].prompt and promptFile first", async (context) => {
    gate.requireCli(context);
    stack.setConfig(configFor({ prompt: FIRST }));
    try {
      const cli = await stack.pulumi(["preview"], { allowFailure: true });
      expect(cli.code, cli.stdout).not.toBe(0);
      const failure = `${cli.stdout}\n${cli.stderr}`.match(/.*fork\/exec \S*node: argument list too long.*/)?.[0];
      expect(failure, `${cli.stdout}\n${cli.stderr}`).toBeDefined();
      console.log(`[prompt-file] pulumi preview with the prompt inline: ${failure?.trim()}`);
      const script = await stack.run("bash", ["scripts/stack.sh", "preview"], { AGENT_SANDBOX_STACK: STACK }, { allowFailure: true });
      expect(script.code, script.stdout).toBe(1);
      expect(script.stderr).toMatch(
        /Pulumi\.promptfile-\d+\.yaml: runs\[0\]\.prompt: the stack config would be \d+ bytes in PULUMI_CONFIG.*set runs\[0\]\.promptFile/,
      );
      expect(`${script.stdout}${script.stderr}`, "the script ran pulumi preview anyway").not.toContain("fork/exec");
    } finally {
      stack.setConfig(configFor({ promptFile: PROMPT_FILE }));
    }
  });

  it("sends a 200 KB promptFile to the agent byte for byte", async (context) => {
    gate.requireCli(context);
    expect(Buffer.byteLength(FIRST)).toBeGreaterThan(200_000);
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const { runOutputs } = await stack.outputs();
    expect(runOutputs.long, JSON.stringify(runOutputs)).toMatchObject({ success: true, result: "Read it." });
    const texts = lastUserTexts();
    expect(texts.includes(FIRST), `sent ${Buffer.byteLength(FIRST)} bytes sha256:${sha256(FIRST)}; the stand-in got:\n${described(texts)}`).toBe(true);
    console.log(`[prompt-file] ${PROMPT_FILE}: ${Buffer.byteLength(FIRST)} bytes sha256:${sha256(FIRST)}, received by the stand-in API unchanged`);
    // The stack file names the file; the prompt is not in the config.
    expect(fs.readFileSync(path.join(stack.programDir, `Pulumi.${STACK}.yaml`), "utf8")).not.toContain("naïve café");
  });

  it("re-runs the run, replacing its command, when the file changes", async (context) => {
    gate.requireCli(context);
    fs.writeFileSync(path.join(stack.programDir, PROMPT_FILE), SECOND);
    // Replaced, not updated: only the trigger (the file's sha256) replaces; a changed stdin alone would update.
    const steps = await stack.previewSteps();
    expect(replacedBy(steps).map(typeAndName)).toContain("command:local:Command::run-long");
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    expect((await stack.outputs()).runOutputs.long).toMatchObject({ success: true, result: "Read it again." });
    const texts = lastUserTexts();
    expect(texts.at(-1) === SECOND, `sent sha256:${sha256(SECOND)}; the stand-in got:\n${described(texts)}`).toBe(true);
    const noChange = await stack.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(noChange.code, `${noChange.stdout}\n${noChange.stderr}`).toBe(0);
  });
});
