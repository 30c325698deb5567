/**
 * Whether a stack file's config fits the one environment variable the Pulumi CLI hands the program
 * (PULUMI_CONFIG, at most Linux's 128 KiB per string), and which value to move out when it does not:
 * the check `npm run stack:new` and `npm run up|preview` make. The real CLI's byte count is compared in
 * tests/live/prompt-file.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { realHostProbe } from "../../components/values/host-probe";
import { validateStackFile } from "../../scripts/developer-stack";
import { configSizeProblem, MAX_ENV_STRING_BYTES, pulumiConfigEnvBytes } from "../../scripts/pulumi-config-env";

const ROOT = path.resolve(__dirname, "../..");
const run = (index: number, prompt: string) => ({ name: `r${index}`, sandbox: "main", prompt });
/** A config of `runs` whose PULUMI_CONFIG takes exactly `bytes`: the last run's prompt padded with plain letters. */
function configOf(bytes: number): Record<string, unknown> {
  const base = { "agent-sandbox:workspace": "/home/me/app", "agent-sandbox:runs": [run(0, "")] };
  return { ...base, "agent-sandbox:runs": [run(0, "x".repeat(bytes - pulumiConfigEnvBytes(base)))] };
}

describe("the size of PULUMI_CONFIG", () => {
  it("counts the variable's name, Go's JSON of the config in the language host's key form, and the NUL", () => {
    // Go escapes <, > and & (7 bytes each once escaped twice), keeps non-ASCII as raw UTF-8, and a
    // structured value is JSON inside the outer JSON string.
    const config = { "agent-sandbox:runs": [{ prompt: 'a<"\n é' }], "docker:host": "unix:///x" };
    const expected = String.raw`{"agent-sandbox:config:runs":"[{\"prompt\":\"a\\u003c\\\"\\n é\"}]","docker:config:host":"unix:///x"}`;
    expect(pulumiConfigEnvBytes(config)).toBe(Buffer.byteLength(`PULUMI_CONFIG=${expected}`) + 1);
  });

  it("counts a secret at its ciphertext, a little more than the value the CLI decrypts into it", () => {
    const secure = { secure: "v1:abcdefghijklmnop:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" };
    expect(pulumiConfigEnvBytes({ "agent-sandbox:anthropicApiKey": secure })).toBe(
      Buffer.byteLength(`PULUMI_CONFIG={"agent-sandbox:config:anthropicApiKey":"${secure.secure}"}`) + 1,
    );
  });

  it("accepts a config of exactly 128 KiB and refuses one byte more", () => {
    expect(pulumiConfigEnvBytes(configOf(MAX_ENV_STRING_BYTES))).toBe(MAX_ENV_STRING_BYTES);
    expect(configSizeProblem(configOf(MAX_ENV_STRING_BYTES), "agent-sandbox")).toBeUndefined();
    expect(configSizeProblem(configOf(MAX_ENV_STRING_BYTES + 1), "agent-sandbox")).toMatch(/^runs\[0\]\.prompt: the stack config would be 131073 bytes/);
  });
});

describe("a stack config too big for PULUMI_CONFIG", () => {
  it("names the biggest prompt and tells to move it to promptFile", () => {
    const config = { "agent-sandbox:runs": [run(0, "short"), run(1, "y".repeat(20_000)), run(2, "z\n".repeat(60_000))] };
    expect(configSizeProblem(config, "agent-sandbox")).toBe(
      `runs[2].prompt: the stack config would be ${pulumiConfigEnvBytes(config)} bytes in PULUMI_CONFIG, the one environment variable the Pulumi CLI hands the program, and Linux refuses one over 131072 bytes (pulumi stops with "argument list too long"); this value is 240004 bytes of it; put the prompt in a file and set runs[2].promptFile: <path of the file> instead of runs[2].prompt`,
    );
  });

  it("names another value when it is the biggest, with a general fix", () => {
    const config = { "agent-sandbox:runs": [run(0, "short")], "other:notes": "n".repeat(140_000) };
    expect(configSizeProblem(config, "agent-sandbox")).toMatch(
      /^other:notes: .*; this value is 140000 bytes of it; make it smaller or move it out of the stack config$/,
    );
  });

  it("is refused by stack:new's validation, together with the config's other problems", () => {
    const config = {
      "agent-sandbox:workspace": "/nonexistent/agent-sandbox-ws",
      "agent-sandbox:runs": [{ name: "r", sandbox: "main", prompt: "p".repeat(140_000) }],
    };
    expect(() => validateStackFile(config, realHostProbe)).toThrow(/- runs\[0\]\.prompt: the stack config would be \d+ bytes[^\n]*\n {2}- workspace: /);
  });

  it("stops scripts/check-config-size.ts (npm run up|preview) with the problem, and lets a stack that fits through", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-size-"));
    const check = (config: Record<string, unknown>) => {
      const file = path.join(dir, "Pulumi.dev.yaml");
      fs.writeFileSync(file, stringify({ config }));
      return spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/check-config-size.ts"), file], { encoding: "utf8" });
    };
    const refused = check({ "agent-sandbox:runs": [run(0, "p".repeat(140_000))] });
    expect({ status: refused.status, stderr: refused.stderr }).toEqual({
      status: 1,
      stderr: expect.stringMatching(/Pulumi\.dev\.yaml: runs\[0\]\.prompt: .*runs\[0\]\.promptFile/),
    });
    const passed = check({ "agent-sandbox:runs": [run(0, "p".repeat(1000))] });
    expect({ status: passed.status, stderr: passed.stderr }).toEqual({ status: 0, stderr: "" });
  });
});
