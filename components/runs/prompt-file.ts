/**
 * Reads the prompt files of runs (`runs[i].promptFile`): a prompt too long for the stack config, which the
 * Pulumi CLI hands the program in one environment variable that Linux caps at 128 KiB. The file is read
 * on the machine running Pulumi when the program is evaluated; its text becomes the run's prompt, which
 * reaches the agent on stdin like an inline one, and its sha256 re-runs the run when the file changes.
 * A separate step from the schema, since it needs the filesystem.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { HostProbe } from "../values/host-probe";
import type { ParsedRun, RunConfig } from "./config";

/**
 * The runs with their prompts known, and what is wrong with their prompt files. A relative promptFile is
 * read from `baseDir`: the folder Pulumi runs the program in, the project folder (where Pulumi.yaml is)
 * unless its `main` is elsewhere (pkg/engine/project.go, getPwdMain).
 */
export function withPromptFiles(
  runs: readonly ParsedRun[],
  probe: Pick<HostProbe, "readText" | "stat">,
  baseDir = process.cwd(),
): { runs: RunConfig[]; problems: string[] } {
  const problems: string[] = [];
  const read = runs.map((run, index): RunConfig => {
    if (run.promptFile === undefined) return { ...run, prompt: run.prompt ?? "" };
    const file = path.resolve(baseDir, run.promptFile);
    const prompt = readPromptFile(file, probe, baseDir);
    if ("problem" in prompt) {
      const where = file === run.promptFile ? `"${file}"` : `"${run.promptFile}" (${file})`;
      problems.push(`runs[${index}].promptFile: ${where} ${prompt.problem}`);
      return { ...run, prompt: "" };
    }
    return { ...run, prompt: prompt.text, promptFileSha256: createHash("sha256").update(prompt.text).digest("hex") };
  });
  return { runs: read, problems };
}

/** The file's text, or what keeps it from being a prompt, with the fix. */
function readPromptFile(file: string, probe: Pick<HostProbe, "readText" | "stat">, baseDir: string): { text: string } | { problem: string } {
  const text = probe.readText(file);
  if (text === "") return { problem: "is empty; write the prompt into it" };
  if (text !== undefined) return { text };
  const facts = probe.stat(file);
  const relativeTo = `absolute, or relative to ${baseDir}, the folder Pulumi runs the program in`;
  if (!facts) return { problem: `does not exist; give the file holding the prompt, ${relativeTo}` };
  if (facts.isDirectory) return { problem: `is a folder; give the file holding the prompt, ${relativeTo}` };
  // Pulumi carries a command's stdin as a string: bytes that are not UTF-8 could not reach the agent unchanged.
  return { problem: "cannot be read as UTF-8 text; make it readable by the user running Pulumi and save it as UTF-8" };
}
