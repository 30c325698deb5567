import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { RealizedResource, Tracked } from "./state";
import { type Inputs, rejectUnmapped } from "./values";

/**
 * command:local:Command, after pulumi-command provider/pkg/provider/local (commandOutputs.go `run`,
 * commandController.go). The installed SDK (@pulumi/command 1.2.1) declares `logging` and
 * `addPreviousOutputInEnv` (local/command.d.ts), and the program sets both (the latter false on a run's
 * command): both are honoured.
 */
const FIELDS = ["create", "update", "delete", "dir", "environment", "interpreter", "stdin", "triggers", "logging", "addPreviousOutputInEnv"];

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs one command like `run`: interpreter (default /bin/sh -c) + command, cwd `dir` or the process cwd,
 * env = the provider's whole environment (here the harness process's, as the CLI's environment is the
 * provider's), then `environment` (later keys win, as in Go's exec), then the previous
 * PULUMI_COMMAND_STDOUT/STDERR. The error carries the command and the combined output whatever `logging`
 * says: logging only decides what is streamed to the log.
 */
function runCommand(command: string, inputs: Inputs, previous?: RunResult): Promise<RunResult> {
  const interpreter = ((inputs.interpreter ?? []) as string[]).length > 0 ? (inputs.interpreter as string[]) : ["/bin/sh", "-c"];
  const env: NodeJS.ProcessEnv = { ...process.env, ...((inputs.environment ?? {}) as Record<string, string>) };
  if (previous && inputs.addPreviousOutputInEnv !== false) {
    if (previous.stdout) env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (previous.stderr) env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  const logging = String(inputs.logging ?? "stdoutAndStderr");
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(interpreter[0], [...interpreter.slice(1), command], {
      cwd: inputs.dir ? String(inputs.dir) : process.cwd(),
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let combined = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      combined += chunk;
      if (logging === "stdout" || logging === "stdoutAndStderr") process.stdout.write(`[command] ${chunk}`);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      combined += chunk;
      if (logging === "stderr" || logging === "stdoutAndStderr") process.stderr.write(`[command] ${chunk}`);
    });
    child.on("error", (error) => rejectRun(new Error(`${error.message}: running ${JSON.stringify(command)}:\n${combined}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolveRun({ stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
      else {
        const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
        rejectRun(new Error(`${status}: running ${JSON.stringify(command)}:\n${combined}`));
      }
    });
    if (inputs.stdin) child.stdin.end(String(inputs.stdin));
    else child.stdin.end();
  });
}

function tracked(name: string, inputs: Inputs, id: string, result: RunResult): Tracked {
  return {
    type: "command:local:Command",
    name,
    kind: "command",
    id,
    inputs,
    outputs: { ...inputs, ...result },
    // Delete runs `delete` (if declared) with the create's outputs in PULUMI_COMMAND_STDOUT/STDERR.
    destroy: async () => {
      if (inputs.delete) await runCommand(String(inputs.delete), inputs, result);
    },
    exists: async () => true,
  };
}

/**
 * Runs a realized command's `create` again with its own environment and stdin, as the provider would on a
 * replace: how the bench times the very run command the program declared.
 */
export function rerunCreate(resource: RealizedResource): Promise<RunResult> {
  if (resource.type !== "command:local:Command" || !resource.inputs.create) throw new Error(`${resource.name} is no command with a create to run`);
  return runCommand(String(resource.inputs.create), resource.inputs);
}

/** Create: runs `create` (never `delete`); the id is the logical name plus 8 random hex characters. */
export async function realizeCommand(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("command", inputs, FIELDS);
  const id = `${name}${randomBytes(4).toString("hex")}`;
  const result = inputs.create ? await runCommand(String(inputs.create), inputs) : { stdout: "", stderr: "" };
  return tracked(name, inputs, id, result);
}

/** Update (inputs changed, triggers did not): runs `update`, or `create` when no update is declared. */
export async function updateCommand(previous: Tracked, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("command", inputs, FIELDS);
  const command = inputs.update ?? inputs.create;
  const before = { stdout: String(previous.outputs.stdout ?? ""), stderr: String(previous.outputs.stderr ?? "") };
  const result = command ? await runCommand(String(command), inputs, before) : before;
  return tracked(previous.name, inputs, previous.id, result);
}
