import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { credentialsWriteScript } from "../../src/credentials/agent-credentials";
import { SECRETS_PATH } from "../../src/policy-contract/host-paths";
import { runWithFakeDocker } from "./support/fake-docker";

const API_KEY = "test-api-key-0000-not-a-real-key";

describe("writing the stack's credentials", () => {
  const run = () =>
    runWithFakeDocker(credentialsWriteScript({}), {
      env: {
        AGENT_API_KEY: API_KEY,
        AGENT_GIT_TOKEN: "ghx-token",
        AGENT_USER: "1000:1000",
        CREDENTIALS_VOLUME: "agent-sandbox-dev-credentials",
        IMAGE: "sha256:abc",
      },
    });

  it("hands the secrets to the writer container on stdin only", () => {
    const result = run();
    expect(result.status).toBe(0);
    expect(result.stdin()).toBe(`${API_KEY}\nghx-token\n`);
    expect(result.args().join(" ")).not.toContain(API_KEY);
    expect(result.env()).not.toContain(API_KEY);
  });

  it("writes through a locked-down throwaway container as the agent user", () => {
    const args = run().args();
    expect(args.slice(0, 13)).toEqual([
      "run",
      "--rm",
      "-i",
      "--network",
      "none",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges:true",
      "--read-only",
      "--user",
      "1000:1000",
      "-v",
    ]);
    expect(args.slice(13, 15)).toEqual(["agent-sandbox-dev-credentials:/run/agent-secrets", "sha256:abc"]);
    expect(args.at(-1)).toMatch(/^umask 077; read -r key; read -r token;/);
  });

  it("keeps the Pulumi CLI's environment away from the docker CLI", () => {
    expect(run().env()).not.toMatch(/PULUMI_ACCESS_TOKEN|AWS_SECRET_ACCESS_KEY/);
  });

  it("writes a file per set secret and removes the file of an unset one, so a subscription login is used", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "credentials-"));
    fs.writeFileSync(path.join(dir, "api-key"), "an old key");
    // The script the writer container runs, pointed at a folder of this machine instead of the volume.
    const inContainer = run().args().at(-1)!.replaceAll(SECRETS_PATH, dir);
    const result = spawnSync("/bin/sh", ["-c", inContainer], { input: "\nghx-token\n", encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(["git-token"]);
    expect(fs.readFileSync(path.join(dir, "git-token"), "utf8")).toBe("ghx-token");
    expect((fs.statSync(path.join(dir, "git-token")).mode & 0o777).toString(8)).toBe("600");
  });
});
