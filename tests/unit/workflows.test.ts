import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import actionInputs from "../fixtures/action-inputs.json";

const workflowsDir = path.resolve(__dirname, "../../.github/workflows");
const workflowFiles = fs.readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file));

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions?: Record<string, string>;
  jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }>;
}

function readWorkflow(file: string): Workflow {
  return parse(fs.readFileSync(path.join(workflowsDir, file), "utf8")) as Workflow;
}

/** Every step that calls an action, with the file it is in. */
const actionSteps = workflowFiles.flatMap((file) =>
  Object.values(readWorkflow(file).jobs).flatMap((job) =>
    job.steps.filter((step): step is Step & { uses: string } => step.uses !== undefined).map((step) => ({ file, step })),
  ),
);

const knownActions: Record<string, { tag: string; inputs: string[] }> = actionInputs.actions;

describe("GitHub workflows", () => {
  it("include preview, up and test", () => {
    expect(workflowFiles.sort()).toEqual(["preview.yml", "test.yml", "up.yml"]);
  });

  it.each(workflowFiles)("%s parses as YAML with jobs", (file) => {
    expect(Object.keys(readWorkflow(file).jobs).length).toBeGreaterThan(0);
  });

  it("pin every action to a commit SHA or a version tag, never a branch", () => {
    const unpinned = actionSteps
      .map(({ file, step }) => ({ file, uses: step.uses, ref: step.uses.split("@")[1] ?? "" }))
      .filter(({ ref }) => !/^[0-9a-f]{40}$/.test(ref) && !/^v\d+(\.\d+){0,2}$/.test(ref));
    expect(unpinned).toEqual([]);
  });

  it("label each pinned SHA with the tag the fixture recorded for it", () => {
    const mislabelled = workflowFiles.flatMap((file) =>
      [...fs.readFileSync(path.join(workflowsDir, file), "utf8").matchAll(/uses:\s*(\S+@[0-9a-f]{40})\s*#\s*(\S+)/g)]
        .filter(([, uses, tag]) => knownActions[uses]?.tag !== tag)
        .map(([, uses, tag]) => `${file}: ${uses} # ${tag}`),
    );
    expect(mislabelled).toEqual([]);
  });

  it("use only actions whose documented inputs the fixture records", () => {
    const missing = actionSteps.filter(({ step }) => knownActions[step.uses] === undefined).map(({ file, step }) => `${file}: ${step.uses}`);
    expect(missing).toEqual([]);
  });

  it("pass only inputs that each action documents", () => {
    const unknownInputs = actionSteps.flatMap(({ file, step }) =>
      Object.keys(step.with ?? {})
        .filter((input) => !(knownActions[step.uses]?.inputs ?? []).includes(input))
        .map((input) => `${file}: ${step.uses} has no input "${input}"`),
    );
    expect(unknownInputs).toEqual([]);
  });

  it("grant write access only to pull requests, only in preview.yml", () => {
    const writes = workflowFiles.flatMap((file) => {
      const workflow = readWorkflow(file);
      const scopes = [workflow.permissions ?? {}, ...Object.values(workflow.jobs).map((job) => job.permissions ?? {})];
      return scopes.flatMap((scope) =>
        Object.entries(scope)
          .filter(([, access]) => access === "write")
          .map(([name]) => `${file}: ${name}`),
      );
    });
    expect(writes).toEqual(["preview.yml: pull-requests"]);
  });

  it("declare top-level permissions in every workflow, so nothing inherits the repository default", () => {
    expect(workflowFiles.filter((file) => readWorkflow(file).permissions === undefined)).toEqual([]);
  });

  it("enforce the policy pack in every Pulumi command", () => {
    const pulumiSteps = actionSteps.filter(({ step }) => step.uses.startsWith("pulumi/actions@"));
    expect(pulumiSteps.map(({ file, step }) => `${file}: ${step.with?.command} ${step.with?.policyPacks}`).sort()).toEqual([
      "preview.yml: preview policy",
      "up.yml: up policy",
    ]);
  });
});

describe("scripts/ci-stack-prereqs.sh (preview.yml, up.yml)", () => {
  const script = path.resolve(__dirname, "../../scripts/ci-stack-prereqs.sh");

  /** Runs the script with a stand-in docker that records DOCKER_HOST, in a throwaway HOME. */
  function prereqs(stack: string, env: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-prereqs-"));
    fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\necho "$DOCKER_HOST" > "${dir}/docker-host"\necho "Docker 20.10"\n`, { mode: 0o755 });
    const result = spawnSync("bash", [script, stack], {
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, PULUMI_BACKEND_URL: "s3://state/agent-sandbox", ...env },
      encoding: "utf8",
    });
    const read = (file: string) => (fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), "utf8") : undefined);
    return { ...result, dockerHost: read("docker-host")?.trim(), key: read(".ssh/agent-sandbox-engine"), sshConfig: read(".ssh/config") };
  }

  it("refuses to run against the throwaway runner's file backend", () => {
    const result = prereqs("team", { PULUMI_BACKEND_URL: "" });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/::error::Repository secret PULUMI_BACKEND_URL is empty/);
  });

  it("asks for the ssh key of a stack whose engine is reached over ssh", () => {
    const result = prereqs("team", {});
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/engine at ssh:\/\/sandbox@sandbox-host: set the repository secret SANDBOX_SSH_KEY/);
  });

  it("installs the key and checks the stack's own engine, not the runner's", () => {
    const result = prereqs("team", { SANDBOX_SSH_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----", SANDBOX_SSH_KNOWN_HOSTS: "sandbox-host ssh-ed25519 AAAA" });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.dockerHost).toBe("ssh://sandbox@sandbox-host");
    expect(result.key).toBe("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    expect(result.sshConfig).toMatch(/^IdentityFile .*agent-sandbox-engine$/m);
  });

  it("checks the runner's own engine for a stack without docker.host", () => {
    const result = prereqs("dev", {});
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.dockerHost).toBe("unix:///var/run/docker.sock");
  });
});
