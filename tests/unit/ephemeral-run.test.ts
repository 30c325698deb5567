import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { claude } from "../../components/agents/claude";
import { parseStackConfig } from "../../components/config/stack-schema";
import { engineClient } from "../../components/engine/client";
import type { ContainerSpec } from "../../components/engine/container-cli";
import { DOCKER } from "../../components/engine/engine";
import { ephemeralRunScript, pruneRunContainersLines } from "../../components/runs/run-script";
import { containerArgsFor } from "../../components/sandbox/container";
import { evaluateProgram, FIXTURES, makeWorkspace } from "./support/program";

const identity = { project: "agent-sandbox", stack: "dev" };
const refs = { imageId: "sha256:abc", networkName: "net", homeVolume: "home", credentialsVolume: "creds", protectedPaths: [".git/hooks"], engine: DOCKER };
const sandbox = parseStackConfig({ workspace: "/home/me/code/app" }, { homeDir: "/home/me" }).sandboxes[0];
const sandboxSpec = containerArgsFor(identity, sandbox, { uid: 1000, gid: 1000 }, refs) as ContainerSpec;

/** A stand-in docker that logs each call and answers the start script's inspects and check as a ready container would. */
function fakeDocker(options: { execSeconds?: number; execExit?: number; existing?: string[] }): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
  fs.writeFileSync(path.join(dir, "ps-output"), (options.existing ?? []).join("\n"));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in
  create) echo "$@" | grep -q -- '--name' || exit 1 ;;
  inspect) case "$3" in *PidsLimit*) echo "512 /usr/local/bin/agent-healthcheck" ;; *) echo "true starting" ;; esac ;;
  ps) echo "new-container-id"; cat "${dir}/ps-output" ;;
  exec) [ "$3" = /bin/sh ] && exit 0; cat >/dev/null; sleep ${options.execSeconds ?? 0}; echo '{"type":"result"}'; exit ${options.execExit ?? 0} ;;
esac
`,
    { mode: 0o755 },
  );
  return { dir, calls: () => fs.readFileSync(path.join(dir, "calls"), "utf8").trimEnd().split("\n") };
}

function startScript(keepFinished: number, docker: { dir: string }) {
  const run = parseStackConfig(
    { workspace: "/home/me/code/app", runs: [{ name: "fix", sandbox: "main", prompt: "p", ephemeral: true, keepFinished }] },
    { homeDir: "/home/me" },
  ).runs[0];
  const script = ephemeralRunScript(claude, run, engineClient(), { runName: "fix", sandboxSpec, sandboxLabels: { "dev.agent-sandbox.stack": "dev" } });
  const child = spawn("/bin/sh", ["-c", script], {
    env: {
      PATH: `${docker.dir}:${process.env.PATH}`,
      HOME: os.homedir(),
      CONTAINER_PREFIX: "agent-sandbox-dev-main-run-fix",
      AGENT_USER: "1000:1000",
      PIDS_LIMIT: "512",
      HEALTH_TIMEOUT: "30",
      CHECK_TIMEOUT: "5",
      KEEP_FINISHED: String(keepFinished),
    },
  });
  child.stdin.end("the prompt");
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, exited };
}

describe("an ephemeral run's script", () => {
  it("creates the run's container, applies the pids limit, starts it, runs the agent in it, then removes it", async () => {
    const docker = fakeDocker({});
    expect(await startScript(0, docker).exited).toBe(0);
    const verbs = docker.calls().map((call) => call.split(" ")[0]);
    // The second exec is the agent's; the first is the container's own health check, run as soon as it starts.
    expect(verbs.filter((verb) => verb !== "inspect")).toEqual(["create", "update", "start", "exec", "exec", "ps", "rm"]);
    const create = docker.calls()[0];
    expect(create).toMatch(/^create --name agent-sandbox-dev-main-run-fix-\d{14}-\d+ /);
    expect(create).toContain("--label dev.agent-sandbox.run=fix");
    expect(create).toContain("--restart no");
    const name = create.split(" ")[2];
    expect(docker.calls()).toContain(`update --pids-limit 512 ${name}`);
    expect(docker.calls()).toContain(`start ${name}`);
    const execs = docker.calls().filter((call) => call.startsWith("exec"));
    expect(execs[0]).toBe(`exec ${name} /bin/sh -c /usr/local/bin/agent-healthcheck`);
    expect(execs[1]).toContain(`-w /workspace ${name} agent-exec claude -p`);
    expect(docker.calls().at(-1)).toBe("rm -f -v new-container-id");
  });

  it("keeps the newest keepFinished containers, stopped, and removes the older ones", async () => {
    const docker = fakeDocker({ existing: ["older-1", "older-2"] });
    expect(await startScript(2, docker).exited).toBe(0);
    expect(docker.calls().some((call) => call.startsWith("stop -t 5 agent-sandbox-dev-main-run-fix-"))).toBe(true);
    expect(docker.calls().at(-1)).toBe("rm -f -v older-2");
  });

  it("removes the container when the agent fails, and fails with the agent's exit status", async () => {
    const docker = fakeDocker({ execExit: 3 });
    expect(await startScript(0, docker).exited).toBe(3);
    expect(docker.calls().at(-1)).toBe("rm -f -v new-container-id");
  });

  it("removes the container at once when interrupted mid-run, without waiting for the agent", async () => {
    const docker = fakeDocker({ execSeconds: 30 });
    const { child, exited } = startScript(0, docker);
    const started = Date.now();
    while (!fs.existsSync(path.join(docker.dir, "calls")) || !docker.calls().some((call) => call.startsWith("exec"))) {
      if (Date.now() - started > 10_000) throw new Error(`the agent never started: ${docker.calls().join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(docker.calls().at(-1)).toBe("rm -f -v new-container-id");
  });
});

describe("ephemeral runs and session chains in the program", () => {
  const stream = fs.readFileSync(path.join(FIXTURES, "claude-stream/text-success.jsonl"), "utf8");
  const sessionOfStream = JSON.parse(stream.trimEnd().split("\n").at(-1)!).session_id as string;

  it("declares the resumed run after the run it resumes, re-run with that run's session, and a cleanup of ephemeral containers", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        workspace: ws.dir,
        image: { agentUid: ws.uid, agentGid: ws.gid },
        // Listed before the run it resumes: the order of declaration follows the chain, not the list.
        runs: [
          { name: "follow", sandbox: "main", prompt: "go on", resume: "plan", fork: true, triggers: ["t"] },
          { name: "plan", sandbox: "main", prompt: "plan it", ephemeral: true },
        ],
      },
      secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
      runStdout: stream,
    });
    const follow = program.one("command:local:Command", "run-follow");
    const plan = program.one("command:local:Command", "run-plan");
    expect(follow.options.dependsOn).toEqual(expect.arrayContaining(["main-start", "run-plan"]));
    expect(follow.inputs.triggers).toEqual(["t", sessionOfStream]);
    expect(follow.inputs.create).toContain(`'--resume' '${sessionOfStream}' '--fork-session'`);
    expect(follow.inputs.create).toContain("docker exec");
    expect(follow.inputs.create).not.toContain("docker create");
    expect(plan.inputs.create).toMatch(/docker create --name "\$CONTAINER" .*'--cap-drop' 'ALL'/);
    expect(plan.inputs.environment).toMatchObject({ KEEP_FINISHED: "0", PIDS_LIMIT: "1024" });
    expect(plan.options.dependsOn).toContain("run-plan-containers");
    expect(program.one("command:local:Command", "run-plan-containers").inputs.delete).toContain("'label=dev.agent-sandbox.run=plan'");
    expect((program.outputs.runOutputs as Record<string, { sessionId: string }>).follow.sessionId).toBe(sessionOfStream);
  });
});

describe("runs resuming one run", () => {
  it("runs the one continuing its session after every run forking it", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: {
        workspace: ws.dir,
        image: { agentUid: ws.uid, agentGid: ws.gid },
        runs: [
          { name: "plan", sandbox: "main", prompt: "plan it" },
          { name: "follow", sandbox: "main", prompt: "go on", resume: "plan" },
          { name: "try-a", sandbox: "main", prompt: "try a", resume: "plan", fork: true },
          { name: "try-b", sandbox: "main", prompt: "try b", resume: "plan", fork: true },
        ],
      },
      secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
      runStdout: fs.readFileSync(path.join(FIXTURES, "claude-stream/text-success.jsonl"), "utf8"),
    });
    const dependsOn = (run: string) => program.one("command:local:Command", `run-${run}`).options.dependsOn;
    expect(dependsOn("follow")).toEqual(expect.arrayContaining(["run-plan", "run-try-a", "run-try-b"]));
    expect(dependsOn("try-a")).not.toContain("run-follow");
    expect(dependsOn("try-b")).not.toContain("run-try-a");
  });
});

describe("pruning a run's finished containers", () => {
  /** Runs the prune lines against a stand-in docker whose ps answers `listed`; returns the IDs it removed. */
  function pruned(client: ReturnType<typeof engineClient>, listed: string[], keep: number): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    fs.writeFileSync(path.join(dir, "ps-output"), `${listed.join("\n")}\n`);
    fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\ncase "$1" in ps) cat "${dir}/ps-output" ;; rm) shift 3; echo "$@" > "${dir}/removed" ;; esac\n`, {
      mode: 0o755,
    });
    const run = spawnSync("/bin/sh", ["-c", `set -u\nKEEP_FINISHED=${keep}\n${pruneRunContainersLines(client, ["--filter", "label=x=y"])}`], {
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: os.homedir(), DOCKER_HOST: "unix:///run/podman/podman.sock" },
    });
    expect(run.status, String(run.stderr)).toBe(0);
    return fs.existsSync(path.join(dir, "removed")) ? fs.readFileSync(path.join(dir, "removed"), "utf8").trim().split(" ") : [];
  }

  it("keeps the newest on Docker, whose ps lists newest first", () => {
    expect(pruned(engineClient(), ["c3", "c2", "c1"], 1)).toEqual(["c2", "c1"]);
  });

  it("sorts by creation on Podman, whose ps answers in no order, the name breaking a tie within one second", () => {
    const listed = [
      "2026-12-05 04:21:52 +0000 UTC\trun-20261205042152-7\tb",
      "2026-12-05 04:21:51 +0000 UTC\trun-20261205042151-9\ta",
      "2026-12-05 04:21:53 +0000 UTC\trun-20261205042153-3\tc",
      "2026-12-05 04:21:53 +0000 UTC\trun-20261205042153-4\td",
    ];
    expect(pruned(engineClient({ engine: "podman" }), listed, 2)).toEqual(["b", "a"]);
  });
});
