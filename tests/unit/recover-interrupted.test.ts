import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = path.resolve(__dirname, "../../scripts/recover-interrupted.sh");
const STACK = "dev";

interface Setup {
  /** Lock files the stack holds, as the CLI writes them. */
  readonly locks?: { pid: number; hostname: string }[];
  /** pending_operations of the state. */
  readonly pending?: { type: string; resource: { urn: string; type: string } }[];
}

/** Runs the script in a project folder on a file backend, with a stand-in `pulumi` that records its calls. */
function recover(setup: Setup) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "recover-interrupted-"));
  const [project, backend, bin] = ["program", "state", "bin"].map((name) => path.join(root, name));
  for (const dir of [project, backend, bin]) fs.mkdirSync(dir);
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: agent-sandbox\nruntime: nodejs\n");
  const locks = path.join(backend, ".pulumi/locks/organization/agent-sandbox", STACK);
  fs.mkdirSync(locks, { recursive: true });
  for (const [index, lock] of (setup.locks ?? []).entries()) {
    fs.writeFileSync(path.join(locks, `${index}.json`), JSON.stringify({ ...lock, username: "me", timestamp: "t" }));
  }
  const state = { version: 3, deployment: { resources: [], ...(setup.pending ? { pending_operations: setup.pending } : {}) } };
  const stateFile = path.join(backend, ".pulumi/stacks/agent-sandbox", `${STACK}.json`);
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, JSON.stringify({ checkpoint: { latest: state.deployment } }));
  fs.writeFileSync(path.join(root, "export.json"), JSON.stringify(state));
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/bin/sh
echo "$*" >> "${root}/calls"
case "$1 $2" in
  "stack export") cat "${root}/export.json" ;;
  "stack import") while [ $# -gt 0 ]; do [ "$1" = --file ] && cp "$2" "${root}/imported.json"; shift; done ;;
esac
`,
    { mode: 0o755 },
  );
  const result = spawnSync("bash", [SCRIPT, STACK], {
    cwd: project,
    env: { PATH: `${bin}:${process.env.PATH}`, PULUMI_BACKEND_URL: `file://${backend}` },
    encoding: "utf8",
  });
  const read = (file: string) => (fs.existsSync(path.join(root, file)) ? fs.readFileSync(path.join(root, file), "utf8") : "");
  const recorded = { calls: read("calls").trim().split("\n").filter(Boolean), imported: read("imported.json") };
  fs.rmSync(root, { recursive: true, force: true });
  return { ...result, ...recorded };
}

/** A PID that ran and is gone. */
function deadPid(): Promise<number> {
  const child = spawn("true");
  return new Promise((resolve) => child.on("exit", () => resolve(child.pid!)));
}

const command = (name: string) => ({
  type: "creating",
  resource: { urn: `urn:pulumi:dev::agent-sandbox::command:local:Command::${name}`, type: "command:local:Command" },
});

describe("scripts/recover-interrupted.sh", () => {
  it("unlocks a stack locked on this machine by a process that is gone", async () => {
    const result = recover({ locks: [{ pid: await deadPid(), hostname: os.hostname() }] });
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls).toEqual([`cancel --yes --non-interactive --stack ${STACK}`]);
    expect(result.stderr).toContain("no longer runs (an interrupted update); unlocking it with pulumi cancel");
  });

  it("leaves a lock of a live process, or of another machine, to the CLI's own refusal", async () => {
    expect(recover({ locks: [{ pid: process.pid, hostname: os.hostname() }] }).calls).toEqual([]);
    expect(recover({ locks: [{ pid: await deadPid(), hostname: `not-${os.hostname()}` }] }).calls).toEqual([]);
  });

  it("drops pending creates of commands and keeps every other pending operation", () => {
    const container = {
      type: "creating",
      resource: { urn: "urn:pulumi:dev::agent-sandbox::docker:index/container:Container::main", type: "docker:index/container:Container" },
    };
    const result = recover({ pending: [command("main-start"), container, command("run-fix")] });
    expect(result.status, result.stderr).toBe(0);
    expect(result.calls[0]).toBe(`stack export --stack ${STACK}`);
    expect(result.calls[1]).toMatch(new RegExp(`^stack import --stack ${STACK} --file \\S+ --non-interactive$`));
    expect(JSON.parse(result.imported).deployment.pending_operations).toEqual([container]);
    expect(result.stderr).toContain("The interrupted main-start is dropped from the state: the next up runs it again.");
  });

  it("changes nothing when no command was interrupted", () => {
    const container = {
      type: "updating",
      resource: { urn: "urn:pulumi:dev::agent-sandbox::docker:index/container:Container::main", type: "docker:index/container:Container" },
    };
    expect(recover({ pending: [container] }).calls).toEqual([`stack export --stack ${STACK}`]);
    expect(recover({}).calls).toEqual([]);
  });
});
