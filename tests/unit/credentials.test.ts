import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { API_PROVIDERS } from "../../components/agents";
import { PROXY_SECRETS_PATH } from "../../components/credentials/proxy-contract";
import { END_OF_SECRETS, proxySecretsScript, SANDBOX_CREDENTIALS_SCRIPT, secretFilesWriteScript } from "../../components/credentials/secret-files";
import { engineClient } from "../../components/engine/client";
import { SECRETS_PATH } from "../../components/guardrails/host-paths";
import { runWithFakeDocker } from "./support/fake-docker";

const API_KEY = "test-api-key-0000-not-a-real-key";
const GIT_TOKEN = "ghx-token";
const CA = "-----BEGIN CERTIFICATE-----\nMIIBextra\n-----END CERTIFICATE-----\n";
const SCRIPT = proxySecretsScript(Object.values(API_PROVIDERS));

/** What the program hands the writer's stdin: one key per API (here Anthropic's, then OpenAI's), the token, the end line, then the stack's extra CA (secretsOnStdin). */
const stdinOf = (key: string, token: string, ca = "", openaiKey = "") => [key, openaiKey, token, END_OF_SECRETS, ca].join("\n");

describe("writing the proxy secrets from the Pulumi side", () => {
  const environment = {
    WRITER_USER: "13:13",
    SECRETS_VOLUME: "agent-sandbox-dev-proxy-secrets",
    SECRETS_MOUNT: PROXY_SECRETS_PATH,
    IMAGE: "sha256:proxy",
    PROJECT: "agent-sandbox",
    STACK: "dev",
  };
  const run = (dockerStdout?: string) =>
    runWithFakeDocker(secretFilesWriteScript(engineClient(), SCRIPT), {
      stdin: stdinOf(API_KEY, GIT_TOKEN, CA),
      env: environment,
      dockerStdout,
      main: (args) => args[0] === "run",
    });

  it("hands the secrets to the writer container on stdin only, never in an argument or the environment", () => {
    const result = run();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdin()).toBe(stdinOf(API_KEY, GIT_TOKEN, CA));
    for (const call of result.calls()) {
      expect(call.join(" ")).not.toContain(API_KEY);
      expect(call.join(" ")).not.toContain(GIT_TOKEN);
    }
    expect(result.env()).not.toContain(API_KEY);
    expect(result.env()).not.toContain(GIT_TOKEN);
    // The script itself holds no value: they arrive through the command's stdin.
    expect(secretFilesWriteScript(engineClient(), SCRIPT)).not.toContain(API_KEY);
  });

  it("writes through a locked-down throwaway container as the proxy user, the volume at the proxies' mount", () => {
    const args = run().args();
    expect(args.slice(0, 17)).toEqual([
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
      "13:13",
      "-v",
      `agent-sandbox-dev-proxy-secrets:${PROXY_SECRETS_PATH}`,
      "--entrypoint",
      "sh",
      "sha256:proxy",
    ]);
    // The fake docker records one argument a line, so the script's own lines come back as several.
    expect(args.slice(17).join("\n")).toBe(`-c\n${SCRIPT}`);
  });

  it.each(["run", "ps", "kill"])("keeps the Pulumi CLI's environment away from docker %s", (subcommand) => {
    const result = runWithFakeDocker(secretFilesWriteScript(engineClient(), SCRIPT), {
      stdin: stdinOf(API_KEY, GIT_TOKEN),
      env: environment,
      dockerStdout: "c0ffee01\n",
      main: (args) => args[0] === subcommand,
    });
    expect(result.args()[0]).toBe(subcommand);
    expect(result.env()).not.toMatch(/PULUMI_ACCESS_TOKEN|AWS_SECRET_ACCESS_KEY/);
  });

  it("tells every running credential proxy of this stack to re-read its files with SIGHUP", () => {
    const calls = run("c0ffee01\nc0ffee02\n").calls();
    expect(calls[1]).toEqual([
      "ps",
      "-q",
      "--filter",
      "label=dev.agent-sandbox.project=agent-sandbox",
      "--filter",
      "label=dev.agent-sandbox.stack=dev",
      "--filter",
      "label=dev.agent-sandbox.role=credential-proxy",
    ]);
    expect(calls[2]).toEqual(["kill", "--signal", "HUP", "c0ffee01", "c0ffee02"]);
    expect(calls).toHaveLength(3);
  });

  it("signals nothing when no credential proxy runs yet", () => {
    const calls = run().calls();
    expect(calls.map((call) => call[0])).toEqual(["run", "ps"]);
  });

  it("fails, and signals no proxy, when the writer container fails", () => {
    const result = runWithFakeDocker(secretFilesWriteScript(engineClient(), SCRIPT), {
      stdin: stdinOf(API_KEY, GIT_TOKEN),
      env: environment,
      dockerExit: 65,
      dockerStdout: "c0ffee01\n",
    });
    expect(result.status).toBe(65);
    expect(result.calls().map((call) => call[0])).toEqual(["run"]);
  });
});

/** Runs the in-container script with /bin/sh against a temp folder standing in for the volume. */
function runInContainer(script: string, mountPath: string, stdin: string, seed: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-files-"));
  for (const [file, content] of Object.entries(seed)) fs.writeFileSync(path.join(dir, file), content);
  // The image's system CAs: a file of this machine's temp folder stands in for them.
  const systemCa = path.join(dir, "..", `${path.basename(dir)}-system-ca.crt`);
  fs.writeFileSync(systemCa, "SYSTEM CAS\n");
  const local = script.replaceAll(mountPath, dir).replaceAll("/etc/ssl/certs/ca-certificates.crt", systemCa);
  const result = spawnSync("/bin/sh", ["-c", local], { input: stdin, encoding: "utf8" });
  const files = () => fs.readdirSync(dir).sort();
  const read = (file: string) => fs.readFileSync(path.join(dir, file), "utf8");
  const mode = (file: string) => (fs.statSync(path.join(dir, file)).mode & 0o777).toString(8);
  return { result, dir, files, read, mode };
}

describe("the proxy secrets script (in the writer container)", () => {
  it("writes the key and the token as exactly the nginx lines the configuration includes, and the trusted CAs", () => {
    const { result, files, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, GIT_TOKEN, CA));
    expect(result.status, result.stderr).toBe(0);
    expect(files()).toEqual(["api-key-anthropic.conf", "git-authorization.conf", "trusted-ca.pem"]);
    expect(read("api-key-anthropic.conf")).toBe(`proxy_set_header x-api-key "${API_KEY}";\n`);
    const basic = Buffer.from(`x-access-token:${GIT_TOKEN}`).toString("base64");
    expect(read("git-authorization.conf")).toBe(`proxy_set_header Authorization "Basic ${basic}";\n`);
    expect(read("trusted-ca.pem")).toBe(`SYSTEM CAS\n${CA}`);
  });

  it("makes every file readable by its owner alone (mode 600), leaving no half-written file", () => {
    const { result, files, mode } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, GIT_TOKEN, CA));
    expect(result.status, result.stderr).toBe(0);
    for (const file of files()) expect(mode(file), file).toBe("600");
    expect(files().filter((file) => file.endsWith(".new"))).toEqual([]);
  });

  it("encodes a long token on one line, as an nginx header value needs", () => {
    const token = "t".repeat(200);
    const { result, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, token));
    expect(result.status, result.stderr).toBe(0);
    expect(read("git-authorization.conf")).toBe(`proxy_set_header Authorization "Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}";\n`);
  });

  it("removes the file of an unset secret, so a rotation away from a key or token takes effect", () => {
    const seed = { "api-key-anthropic.conf": 'proxy_set_header x-api-key "old";\n', "git-authorization.conf": "old token line\n" };
    const noKey = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf("", GIT_TOKEN), seed);
    expect(noKey.result.status, noKey.result.stderr).toBe(0);
    expect(noKey.files()).toEqual(["git-authorization.conf", "trusted-ca.pem"]);
    const noToken = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, ""), seed);
    expect(noToken.result.status, noToken.result.stderr).toBe(0);
    expect(noToken.files()).toEqual(["api-key-anthropic.conf", "trusted-ca.pem"]);
    expect(noToken.read("api-key-anthropic.conf")).toBe(`proxy_set_header x-api-key "${API_KEY}";\n`);
    const neither = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf("", ""), seed);
    expect(neither.result.status, neither.result.stderr).toBe(0);
    expect(neither.files()).toEqual(["trusted-ca.pem"]);
    expect(neither.read("trusted-ca.pem")).toBe("SYSTEM CAS\n");
  });

  it.each([
    ["a double quote", 'sk-ant-abc"; proxy_pass http://evil; #'],
    ["a dollar sign", "sk-ant-$host"],
    ["a space", "sk-ant abc"],
    ["a single quote", "sk-ant-'abc"],
    ["a semicolon", "sk-ant-abc;"],
    ["a backslash", "sk-ant-abc\\"],
    // A key file saved with Windows line ends.
    ["a carriage return", "sk-ant-abc\r"],
  ])("refuses a key holding %s with exit 65, naming anthropicApiKey, and writes nothing", (_, key) => {
    const seed = { "api-key-anthropic.conf": 'proxy_set_header x-api-key "kept";\n' };
    const { result, files, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(key, GIT_TOKEN), seed);
    expect(result.status).toBe(65);
    expect(result.stderr).toContain("anthropicApiKey holds characters no API key has");
    expect(result.stderr).toContain("pulumi config set --secret anthropicApiKey <key>");
    expect(result.stderr).not.toContain(key);
    expect(files()).toEqual(["api-key-anthropic.conf"]);
    expect(read("api-key-anthropic.conf")).toBe('proxy_set_header x-api-key "kept";\n');
  });

  it("refuses a key or token holding a line break, which would shift the lines after it, and writes nothing", () => {
    const seed = { "api-key-anthropic.conf": "old key line\n", "git-authorization.conf": "old token line\n" };
    for (const stdin of [stdinOf(`${API_KEY}\nextra`, GIT_TOKEN, CA), stdinOf(API_KEY, `${GIT_TOKEN}\nextra`, CA)]) {
      const { result, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdin, seed);
      expect(result.status, result.stderr).toBe(65);
      expect(result.stderr).toContain("holds a line break");
      expect(read("api-key-anthropic.conf")).toBe("old key line\n");
      expect(read("git-authorization.conf")).toBe("old token line\n");
    }
    const sandbox = runInContainer(SANDBOX_CREDENTIALS_SCRIPT, SECRETS_PATH, `${GIT_TOKEN}\nextra\n${END_OF_SECRETS}\n`);
    expect(sandbox.result.status).toBe(65);
    expect(sandbox.files()).toEqual([]);
  });

  it("accepts every character a real key has", () => {
    const key = "sk-ant-api03-AZaz09._~+/=-x";
    const { result, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(key, ""));
    expect(result.status, result.stderr).toBe(0);
    expect(read("api-key-anthropic.conf")).toBe(`proxy_set_header x-api-key "${key}";\n`);
  });

  it("writes each API's key in that API's header and value format, to a file of its own", () => {
    const openaiKey = "sk-proj-AZaz09._~+/=-x";
    const { result, files, read } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, "", "", openaiKey), {
      "api-key.conf": "the single key file of an older version\n",
    });
    expect(result.status, result.stderr).toBe(0);
    expect(files()).toEqual(["api-key-anthropic.conf", "api-key-openai.conf", "trusted-ca.pem"]);
    expect(read("api-key-anthropic.conf")).toBe(`proxy_set_header x-api-key "${API_KEY}";\n`);
    expect(read("api-key-openai.conf")).toBe(`proxy_set_header Authorization "Bearer ${openaiKey}";\n`);
  });

  it("names the secret to set again when an API's key holds characters no key has", () => {
    const { result } = runInContainer(SCRIPT, PROXY_SECRETS_PATH, stdinOf(API_KEY, "", "", 'sk-proj-"quoted"'));
    expect(result.status).toBe(65);
    expect(result.stderr).toContain("openaiApiKey holds characters no API key has");
  });

  it("never puts a value on a command line: it reads stdin with the shell's read and prints with printf", () => {
    expect(SCRIPT).toMatch(/IFS= read -r key_anthropic/);
    expect(SCRIPT).toMatch(/IFS= read -r token/);
    expect(SCRIPT).not.toMatch(/echo "\$key|echo "\$token"/);
    // The script goes inside single quotes of `sh -c '…'` on the host side.
    expect(SCRIPT).not.toContain("'");
  });
});

describe("the sandbox credentials script (only with credentials-in-sandbox)", () => {
  it("writes the git token alone, mode 600, and removes an API key a stack made before the credential proxy", () => {
    const { result, files, read, mode } = runInContainer(SANDBOX_CREDENTIALS_SCRIPT, SECRETS_PATH, `${GIT_TOKEN}\n${END_OF_SECRETS}\n`, {
      "api-key": "an old key",
    });
    expect(result.status, result.stderr).toBe(0);
    expect(files()).toEqual(["git-token"]);
    expect(read("git-token")).toBe(GIT_TOKEN);
    expect(mode("git-token")).toBe("600");
  });

  it("removes the token's file when the stack has none, so git goes anonymous", () => {
    const { result, files } = runInContainer(SANDBOX_CREDENTIALS_SCRIPT, SECRETS_PATH, `\n${END_OF_SECRETS}\n`, { "git-token": "old", "api-key": "old" });
    expect(result.status, result.stderr).toBe(0);
    expect(files()).toEqual([]);
  });

  it("reaches the writer container on stdin through the same host-side script", () => {
    const result = runWithFakeDocker(secretFilesWriteScript(engineClient(), SANDBOX_CREDENTIALS_SCRIPT), {
      stdin: `${GIT_TOKEN}\n${END_OF_SECRETS}\n`,
      env: {
        WRITER_USER: "1000:1000",
        SECRETS_VOLUME: "agent-sandbox-dev-credentials",
        SECRETS_MOUNT: SECRETS_PATH,
        IMAGE: "sha256:abc",
        PROJECT: "p",
        STACK: "s",
      },
      main: (args) => args[0] === "run",
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdin()).toBe(`${GIT_TOKEN}\n${END_OF_SECRETS}\n`);
    expect(result.args()).toEqual(expect.arrayContaining(["--user", "1000:1000", `agent-sandbox-dev-credentials:${SECRETS_PATH}`]));
    expect(result.args().join(" ")).not.toContain(GIT_TOKEN);
    expect(result.args().at(-1)).toBe(SANDBOX_CREDENTIALS_SCRIPT);
  });
});
