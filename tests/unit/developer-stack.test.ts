import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { realHostProbe } from "../../components/host-checks";
import { developerStackFile, stackNameProblem, validateStackFile } from "../../scripts/developer-stack";
import { makeWorkspace } from "./support/program";

describe("npm run stack:new", () => {
  it("writes a stack file that the program's own config schema and host checks accept", () => {
    const workspace = makeWorkspace();
    const file = developerStackFile({ stack: "alice", workspace: workspace.dir, uid: workspace.uid, gid: workspace.gid });
    expect(file.path).toBe("Pulumi.alice.yaml");
    const config = validateStackFile(parse(file.text).config, realHostProbe);
    expect(config.sandboxes).toMatchObject([{ name: "main", workspace: workspace.dir, agent: "claude", mode: "rw" }]);
    expect(config.image).toMatchObject({ agentUid: workspace.uid, agentGid: workspace.gid });
  });

  it("refuses to write a stack whose agent UID could not write the workspace", () => {
    const workspace = makeWorkspace();
    const file = developerStackFile({ stack: "bob", workspace: workspace.dir, uid: workspace.uid + 1, gid: workspace.gid });
    expect(() => validateStackFile(parse(file.text).config, realHostProbe)).toThrow(
      new RegExp(`- workspace: .* is owned by UID ${workspace.uid} but the agent runs as UID ${workspace.uid + 1}`),
    );
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
    const lenientProbe = { cpuCount: () => 64, stat: () => ({ isDirectory: true, uid: 1000, gid: 1000 }), readText: () => "-----BEGIN CERTIFICATE-----", realPath: (p: string) => p };
    expect(() => validateStackFile(config, lenientProbe)).not.toThrow();
  });
});
