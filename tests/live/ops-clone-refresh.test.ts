/**
 * `npm run refresh` of a clone-mode sandbox with the real CLI: the clone command follows the container (its
 * trigger is the container's ID), so refresh replaces both and the stack still matches the program, while
 * the clone volume, and the agent's commit in it, stays and the host repository is untouched.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { execIn, inspectContainer, waitHealthy } from "../../testkit/live/engine";
import { type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { agentRepository, hostGit } from "../../testkit/live/workspace-files";

const STACK = `ops-clone-${process.pid}`;
const CONTAINER = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main").container;
const GIT = "git -c user.name=agent -c user.email=agent@example.com";
const gate = new PulumiGate();
let probe: HostService;
let repository: string;
let stack: RealStack | undefined;

const git = (...args: string[]) => hostGit(repository, ...args);

describe("refresh of a clone-mode sandbox (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    repository = agentRepository("agent-sandbox-ops-clone-", { "README.md": "hello\n" });
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace: repository, probe, extra: { mode: "clone" } })] }),
    );
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
  });

  afterAll(async () => {
    await stack?.remove();
    await probe?.close();
    if (repository) fs.rmSync(repository, { recursive: true, force: true });
  });

  it("replaces the container and its clone command, keeps the agent's commit in the clone, and leaves the stack in step", async (context) => {
    gate.requireCli(context);
    const work = await execIn(CONTAINER, `cd /workspace && echo work > work.txt && ${GIT} add work.txt && ${GIT} commit -q -m work`);
    expect(work, work.output).toMatchObject({ exitCode: 0 });
    const before = (await inspectContainer(CONTAINER)).Id;
    const hostHead = git("rev-parse", "HEAD");

    const home = path.join(stack!.root, "home");
    fs.mkdirSync(home, { recursive: true });
    const refreshed = await stack!.run(
      "npm",
      ["run", "--silent", "refresh", "--", "main", "--stack", STACK],
      { HOME: home, DOCKER_CONFIG: path.join(os.homedir(), ".docker") },
      { allowFailure: true },
    );
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);

    const after = await waitHealthy(CONTAINER);
    expect(after.Id).not.toBe(before);
    expect(after.State.Health?.Status).toBe("healthy");
    expect((await execIn(CONTAINER, "cd /workspace && git log --format=%s")).output.trim().split("\n")).toEqual(["work", "start"]);
    expect(git("rev-parse", "HEAD")).toBe(hostHead);
    const preview = await stack!.pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
  });
});
