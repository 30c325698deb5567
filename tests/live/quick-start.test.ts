/**
 * The README's npm scripts with the real CLI, as a developer runs them: `npm run pulumi` (the local file
 * backend of Pulumi.yaml and a passphrase made once under ~/.pulumi-agent-sandbox) and `npm run up`, in a
 * copy of the checkout with a home folder of its own. The sandbox is declared with `sandboxes:` rather
 * than the one-folder shortcut only because its healthcheck must probe a host service: the shortcut's
 * default probe is the agent's real API, which a machine without internet cannot reach.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { sandboxObjectNames } from "../../components/engine/naming";
import { waitHealthy } from "../../testkit/live/engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { copyProgram, mergeStackConfig, PulumiGate, REGISTRY_BASE_IMAGES, runCli } from "../../testkit/live/pulumi-cli";
import { engineRuntimes, GVISOR_RUNTIME } from "../../testkit/live/runtime-gate";

const STACK = `quickstart-${process.pid}`;
const gate = new PulumiGate();
let root: string;
let programDir: string;
let env: NodeJS.ProcessEnv;
let probe: HostService;
let workspace: string;

/** `npm run <script> -- <args>` in the copy, as the developer's shell would (their HOME, the stack named by AGENT_SANDBOX_STACK); its stdout. */
async function npmRun(script: string, args: string[] = [], stack = STACK): Promise<string> {
  return (await runCli("npm", ["run", "--silent", script, "--", ...args], { cwd: programDir, env: { ...env, AGENT_SANDBOX_STACK: stack } })).stdout;
}

/** A config value of one of the copy's stack files. */
function stackFileValue(stack: string, key: string): unknown {
  return (parse(fs.readFileSync(path.join(programDir, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config[`agent-sandbox:${key}`];
}

describe("the README's npm scripts with the real CLI (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    root = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-quickstart-"));
    programDir = path.join(root, "checkout");
    fs.mkdirSync(programDir);
    fs.mkdirSync(path.join(root, "home"));
    copyProgram(programDir);
    env = {
      PATH: process.env.PATH,
      HOME: path.join(root, "home"),
      // Docker's own config (and with it buildx's builders) stays the machine's.
      DOCKER_CONFIG: path.join(os.homedir(), ".docker"),
      AGENT_SANDBOX_STACK: STACK,
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    probe = await startHostService("probe-ok\n");
    workspace = agentWorkspace("agent-sandbox-quickstart-ws-");
  });

  afterAll(async () => {
    if (programDir) await npmRun("pulumi", ["destroy", "--yes", "--skip-preview", "--stack", STACK]).catch((error: Error) => console.error(error.message));
    await probe?.close();
    for (const dir of [root, workspace]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates the stack with a passphrase of its own, provisions it with npm run up, and reads its outputs", async (context) => {
    gate.requireCli(context);
    await npmRun("pulumi", ["stack", "init", STACK, "--secrets-provider", "passphrase"]);
    const passphrase = path.join(env.HOME!, ".pulumi-agent-sandbox", "passphrase");
    expect(fs.statSync(passphrase).mode & 0o777).toBe(0o600);
    mergeStackConfig(
      path.join(programDir, `Pulumi.${STACK}.yaml`),
      liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })] }),
    );

    await npmRun("up", ["--yes", "--skip-preview"]);
    const names = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
    expect((await waitHealthy(names.container)).State.Health?.Status).toBe("healthy");
    // The state went to the backend Pulumi.yaml names, under this home folder.
    expect(fs.existsSync(path.join(env.HOME!, ".pulumi-agent-sandbox", ".pulumi", "stacks", PROJECT, `${STACK}.json`))).toBe(true);
    const outputs = JSON.parse(await npmRun("pulumi", ["stack", "output", "sandboxOutputs", "--json", "--stack", STACK]));
    expect(outputs.main.container).toBe(names.container);
  });

  it("writes the engine's isolation, gVisor where it offers runsc, into a stack that stack:new or npm run preview creates", async (context) => {
    gate.requireCli(context);
    const offersGvisor = GVISOR_RUNTIME in (await engineRuntimes());
    if (process.env.REQUIRE_GVISOR === "1") expect(offersGvisor).toBe(true);
    const expected = offersGvisor ? "gvisor" : "container";

    const made = `made${process.pid}`;
    await npmRun("stack:new", [made, workspace]);
    expect(stackFileValue(made, "isolation")).toBe(expected);

    // A stack file without the key (as the committed dev one) whose stack npm run preview creates gets it too.
    const previewed = `previewed${process.pid}`;
    const previewedFile = path.join(programDir, `Pulumi.${previewed}.yaml`);
    fs.writeFileSync(previewedFile, "config: {}\n");
    mergeStackConfig(previewedFile, liveConfig({ image: REGISTRY_BASE_IMAGES }));
    const diff = await npmRun("preview", [workspace], previewed);
    expect(stackFileValue(previewed, "isolation")).toBe(expected);
    expect(stackFileValue(previewed, "workspace")).toBe(workspace);
    // The program read it: the planned sandbox container names its runtime only under gVisor.
    if (offersGvisor) expect(diff).toMatch(/runtime\s*:\s*"runsc"/);
    else expect(diff).not.toMatch(/runtime\s*:\s*"runsc"/);
  });
});
