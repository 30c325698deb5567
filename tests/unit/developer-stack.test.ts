import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { EngineClient } from "../../components/engine/client";
import { physicalName } from "../../components/engine/naming";
import { realHostProbe } from "../../components/values/host-probe";
import {
  developerStackFile,
  newStackIsolation,
  offeredRuntimes,
  stackNamePrefixProblem,
  stackNameProblem,
  validateStackFile,
} from "../../scripts/developer-stack";
import { makeWorkspace } from "./support/program";

describe("npm run stack:new", () => {
  it("writes a stack file that the program's own config schema and host checks accept", () => {
    const workspace = makeWorkspace();
    const file = developerStackFile({ stack: "alice", workspace: workspace.dir, uid: workspace.uid, gid: workspace.gid, isolation: "gvisor" });
    expect(file.path).toBe("Pulumi.alice.yaml");
    const config = validateStackFile(parse(file.text).config, realHostProbe);
    expect(config.sandboxes).toMatchObject([{ name: "main", workspace: workspace.dir, agent: "claude", mode: "rw", isolation: "gvisor" }]);
    expect(config.image).toMatchObject({ agentUid: workspace.uid, agentGid: workspace.gid });
  });

  it("refuses to write a stack whose agent UID could not write the workspace", () => {
    const workspace = makeWorkspace();
    const file = developerStackFile({ stack: "bob", workspace: workspace.dir, uid: workspace.uid + 1, gid: workspace.gid, isolation: "container" });
    expect(() => validateStackFile(parse(file.text).config, realHostProbe)).toThrow(
      new RegExp(`- workspace: .* is owned by UID ${workspace.uid} but the agent runs as UID ${workspace.uid + 1}`),
    );
  });

  it("gives a new stack gVisor where the engine offers runsc, asking the engine the providers will use", () => {
    expect(newStackIsolation(["io.containerd.runc.v2", "runc", "runsc"])).toBe("gvisor");
    expect(newStackIsolation(["io.containerd.runc.v2", "runc"])).toBe("container");
    // An engine that did not answer offers nothing a stack could rely on.
    expect(newStackIsolation(undefined)).toBe("container");
    const asked: Record<string, string>[] = [];
    const probe = (engine: EngineClient) => {
      asked.push(engine.env);
      return { runtimes: ["runc"] };
    };
    offeredRuntimes({ DOCKER_HOST: "ssh://me@build-box", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" }, probe);
    offeredRuntimes({}, probe);
    expect(asked).toEqual([{ DOCKER_HOST: "ssh://me@build-box", DOCKER_CERT_PATH: "/certs", DOCKER_TLS_VERIFY: "1" }, {}]);
  });

  it("rejects stack names that would not read well in container names", () => {
    expect(stackNameProblem("alice")).toBeUndefined();
    expect(stackNameProblem("Alice Smith")).toMatch(/must be 1-40 lowercase letters/);
  });
});

describe("committed example stacks", () => {
  const root = path.resolve(__dirname, "../..");
  const stackFiles = fs.readdirSync(root).filter((name) => /^Pulumi\..+\.yaml$/.test(name));

  it.each(stackFiles)("%s passes the config schema", (name) => {
    const config = parse(fs.readFileSync(path.join(root, name), "utf8")).config;
    // Their folders are examples (another developer's paths): a probe that finds them all lets the schema judge.
    const lenientProbe = {
      cpuCount: () => 64,
      stat: () => ({ isDirectory: true, uid: 1000, gid: 1000 }),
      readText: () => "-----BEGIN CERTIFICATE-----",
      realPath: (p: string) => p,
    };
    expect(() => validateStackFile(config, lenientProbe)).not.toThrow();
  });

  it("refuses a stack name that extends another stack's by a dash, whose container names could meet", () => {
    // The clash it prevents: the same physical name from two stacks.
    expect(physicalName({ project: "agent-sandbox", stack: "alice" }, "main-x")).toBe(physicalName({ project: "agent-sandbox", stack: "alice-main" }, "x"));
    expect(stackNamePrefixProblem("alice-main", ["dev", "alice"])).toBe(
      'stack name "alice-main" and the existing stack "alice" could give two sandboxes one container name (stack "alice" with sandbox "main-x" and stack "alice-main" with sandbox "x" both make agent-sandbox-alice-main-x); pick a name that does not extend the other by a dash, e.g. "alicemain"',
    );
    expect(stackNamePrefixProblem("dev", ["dev-ci"])).toMatch(
      /^stack name "dev" and the existing stack "dev-ci" could give two sandboxes one container name \(stack "dev" with sandbox "ci-x"/,
    );
    expect(stackNamePrefixProblem("alice", ["dev", "alice", "alicia", "team"])).toBeUndefined();
  });

  it("makes the local backend's folder even with a passphrase of your own, and points Pulumi at it", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-home-"));
    const shown = spawnSync("bash", ["scripts/with-local-backend.sh", "sh", "-c", 'echo "$PULUMI_BACKEND_URL"'], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: home, PULUMI_CONFIG_PASSPHRASE: "mine" },
    });
    expect(shown.stdout.trim()).toBe(`file://${home}/.pulumi-agent-sandbox`);
    expect(fs.statSync(path.join(home, ".pulumi-agent-sandbox")).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(home, ".pulumi-agent-sandbox", "passphrase"))).toBe(false);
    const chosen = spawnSync("bash", ["scripts/with-local-backend.sh", "sh", "-c", 'echo "$PULUMI_BACKEND_URL"'], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: home, PULUMI_CONFIG_PASSPHRASE: "mine", PULUMI_BACKEND_URL: "s3://team-state" },
    });
    expect(chosen.stdout.trim()).toBe("s3://team-state");
  });
});
