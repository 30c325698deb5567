/**
 * A run's prompt from a file (`runs[i].promptFile`): read when the program is evaluated, byte for byte,
 * relative paths from the folder Pulumi runs the program in, its sha256 a trigger of the run; a file that
 * cannot be the prompt is a config problem reported with the others, before any resource is declared.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { validateStackConfig } from "../../components/config/resolve-args";
import { parseStackConfig } from "../../components/config/stack-schema";
import { withPromptFiles } from "../../components/runs/prompt-file";
import { ConfigError } from "../../components/values/config-error";
import { realHostProbe } from "../../components/values/host-probe";
import { runWithFakeDocker } from "./support/fake-docker";
import { type Evaluation, evaluateProgram, makeWorkspace } from "./support/program";

/** 200 KB of text with quotes, a command substitution, non-ASCII (two- to four-byte UTF-8) and no trailing newline. */
const LONG_PROMPT = `${'Review "this" $(id) — naïve café, 東京, 🦀.\n'.repeat(4000)}The end, without a newline.`;

function folderWith(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-prompts-"));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const parsedRuns = (...runs: Record<string, unknown>[]) =>
  parseStackConfig({ workspace: "/home/me/app", runs: runs.map((run, index) => ({ name: `r${index}`, sandbox: "main", ...run })) }, { homeDir: "/home/me" })
    .runs;

describe("a run's prompt file", () => {
  it("becomes the prompt byte for byte, read relative to the program's folder, its sha256 alongside", () => {
    expect(Buffer.byteLength(LONG_PROMPT)).toBeGreaterThan(200_000);
    const dir = folderWith({ "long.md": LONG_PROMPT });
    const { runs, problems } = withPromptFiles(parsedRuns({ promptFile: "long.md" }), realHostProbe, dir);
    expect(problems).toEqual([]);
    expect(runs[0].prompt).toBe(LONG_PROMPT);
    expect(runs[0].promptFileSha256).toBe(createHash("sha256").update(Buffer.from(LONG_PROMPT, "utf8")).digest("hex"));
  });

  it("keeps a byte order mark and carriage returns as they are in the file", () => {
    const dir = folderWith({ "bom.md": "\uFEFFline one\r\nline two" });
    const { runs } = withPromptFiles(parsedRuns({ promptFile: path.join(dir, "bom.md") }), realHostProbe, "/nonexistent");
    expect(runs[0].prompt).toBe("\uFEFFline one\r\nline two");
  });

  it("leaves an inline prompt as it is, with no file hash", () => {
    const { runs, problems } = withPromptFiles(parsedRuns({ prompt: "Fix it." }), realHostProbe, "/nonexistent");
    expect(problems).toEqual([]);
    expect(runs[0]).toMatchObject({ prompt: "Fix it." });
    expect(runs[0].promptFileSha256).toBeUndefined();
  });

  it("reports a missing, empty, folder or non-UTF-8 prompt file, naming the key, the path and the fix", () => {
    const dir = folderWith({ "empty.md": "", "latin1.md": Buffer.from([0x63, 0x61, 0x66, 0xe9]) });
    fs.mkdirSync(path.join(dir, "prompts"));
    const { problems } = withPromptFiles(
      parsedRuns({ promptFile: "missing.md" }, { promptFile: "empty.md" }, { promptFile: "prompts" }, { promptFile: path.join(dir, "latin1.md") }),
      realHostProbe,
      dir,
    );
    expect(problems).toEqual([
      `runs[0].promptFile: "missing.md" (${dir}/missing.md) does not exist; give the file holding the prompt, absolute, or relative to ${dir}, the folder Pulumi runs the program in`,
      `runs[1].promptFile: "empty.md" (${dir}/empty.md) is empty; write the prompt into it`,
      `runs[2].promptFile: "prompts" (${dir}/prompts) is a folder; give the file holding the prompt, absolute, or relative to ${dir}, the folder Pulumi runs the program in`,
      `runs[3].promptFile: "${dir}/latin1.md" cannot be read as UTF-8 text; make it readable by the user running Pulumi and save it as UTF-8`,
    ]);
  });

  it("is reported together with the config's other problems", () => {
    const raw = { workspace: "/nonexistent/agent-sandbox-ws", runs: [{ name: "fix", sandbox: "main", promptFile: "/nonexistent/prompt.md" }] };
    let problems: readonly string[] = [];
    try {
      validateStackConfig(raw, realHostProbe, "/nonexistent-home");
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems.map((problem) => problem.split(":")[0])).toEqual(["runs[0].promptFile", "workspace"]);
  });
});

describe("a prompt file in the program", () => {
  it("that is missing fails the program before it declares anything", async () => {
    const ws = makeWorkspace();
    let recorded: Evaluation["resources"] = [];
    await expect(
      evaluateProgram({
        config: {
          workspace: ws.dir,
          image: { agentUid: ws.uid, agentGid: ws.gid },
          runs: [{ name: "review", sandbox: "main", promptFile: "/nonexistent/review.md" }],
        },
        secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
        onResources: (resources) => (recorded = resources),
      }),
    ).rejects.toThrow(/runs\[0\]\.promptFile: "\/nonexistent\/review\.md" does not exist/);
    expect(recorded).toEqual([]);
  });

  it("reaches the run's command as its stdin, and its sha256 is a trigger of the run and of its baseline", async () => {
    const ws = makeWorkspace();
    const file = path.join(folderWith({ "long.md": LONG_PROMPT }), "long.md");
    const program = await evaluateProgram({
      config: {
        workspace: ws.dir,
        image: { agentUid: ws.uid, agentGid: ws.gid },
        runs: [{ name: "review", sandbox: "main", promptFile: file, triggers: ["abc123"] }],
      },
      secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
    });
    const trigger = `promptFile sha256:${createHash("sha256").update(LONG_PROMPT).digest("hex")}`;
    const run = program.one("command:local:Command", "run-review");
    expect(run.inputs.stdin).toBe(LONG_PROMPT);
    expect(run.inputs.triggers).toEqual(["abc123", trigger]);
    expect(program.one("command:local:Command", "run-review-baseline").inputs.triggers).toContain(trigger);
    // The text travels on stdin alone: no environment variable of any command carries it (Linux caps each at 128 KiB).
    const environments = program.ofType("command:local:Command").map((command) => JSON.stringify(command.inputs.environment ?? {}));
    expect(environments.filter((environment) => environment.includes("The end, without a newline."))).toEqual([]);
    const executed = runWithFakeDocker(run.inputs.create, { stdin: run.inputs.stdin, env: run.inputs.environment });
    expect(executed.status, executed.stderr).toBe(0);
    expect(executed.stdin()).toBe(LONG_PROMPT);
  });
});
