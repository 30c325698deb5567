/**
 * A stack of sandboxes of different agents as the real program declares it (under the mock monitor): an
 * image per agent, each sandbox on its agent's image with its agent's API settings, each credential proxy
 * including its own API's key file, and the config refusing what an agent cannot do before anything is declared.
 */
import { describe, expect, it } from "vitest";
import { evaluateProgram, makeWorkspace, type RecordedResource } from "./support/program";

const IMAGE = "docker-build:index:Image";
const CONTAINER = "docker:index/container:Container";
const ws = makeWorkspace();
const image = { agentUid: ws.uid, agentGid: ws.gid };
const SECRETS = { anthropicApiKey: "sk-ant-test-0000-not-a-real-key", openaiApiKey: "sk-proj-test-0000-not-a-real-key" };

const agentImages = (program: { ofType(type: string): RecordedResource[] }) =>
  program
    .ofType(IMAGE)
    .map((build) => build.name)
    .filter((name) => name.startsWith("agent"))
    .sort();
const problemsOf = (failure: unknown) => (failure as { problems?: string[] }).problems;

const stackOf = (sandboxes: Record<string, unknown>[], runs: Record<string, unknown>[] = [], secrets: Record<string, string> = SECRETS) =>
  evaluateProgram({ config: { image, sandboxes: sandboxes.map((sandbox) => ({ workspace: ws.dir, ...sandbox })), runs }, secrets });

const envOf = (container: RecordedResource) => Object.fromEntries((container.inputs.envs as string[]).map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
const nginxConfOf = (proxy: RecordedResource) => {
  const env = (proxy.inputs.envs as string[]).find((entry) => entry.startsWith("NGINX_CONF_B64="))!;
  return Buffer.from(env.slice("NGINX_CONF_B64=".length), "base64").toString("utf8");
};

describe("sandboxes of several agents in one stack", () => {
  it("builds one image per agent: the default agent's keeps its name and tag, another's is named and tagged after it", async () => {
    const program = await stackOf([{ name: "main" }, { name: "cx", agent: "codex" }, { name: "oc", agent: "opencode" }]);
    expect(agentImages(program)).toEqual(["agent", "agent-codex", "agent-opencode"]);
    expect(program.one(IMAGE, "agent").inputs.tags).toEqual(["agent-sandbox/agent:dev"]);
    const codexBuild = program.one(IMAGE, "agent-codex").inputs;
    expect(codexBuild.tags).toEqual(["agent-sandbox/agent:dev-codex"]);
    expect(codexBuild.buildArgs).toMatchObject({ AGENT_EXECUTABLE: "codex", AGENT_VERSION: "0.171.0" });
    expect(codexBuild.buildArgs.AGENT_INSTALL).toContain("@openai/codex@");
    const outputs = program.outputs.sandboxOutputs as Record<string, { agent: string; imageId: string }>;
    expect(Object.fromEntries(Object.entries(outputs).map(([name, sandbox]) => [name, sandbox.agent]))).toEqual({
      main: "claude",
      cx: "codex",
      oc: "opencode",
    });
    expect(new Set(Object.values(outputs).map((sandbox) => sandbox.imageId)).size).toBe(3);
  });

  it("builds only the images of the agents the sandboxes run", async () => {
    const program = await stackOf([{ name: "cx", agent: "codex" }]);
    expect(agentImages(program)).toEqual(["agent-codex"]);
  });

  it("points each sandbox at its credential proxy with its agent's variables, and each proxy at its API's key file", async () => {
    const program = await stackOf([{ name: "main" }, { name: "cx", agent: "codex" }, { name: "oc", agent: "opencode" }]);
    expect(envOf(program.one(CONTAINER, "main"))).toMatchObject({
      ANTHROPIC_BASE_URL: "http://credential-proxy:8080",
      ANTHROPIC_API_KEY: "added-by-credential-proxy",
    });
    expect(envOf(program.one(CONTAINER, "cx"))).toMatchObject({
      OPENAI_BASE_URL: "http://credential-proxy:8080/v1",
      OPENAI_API_KEY: "added-by-credential-proxy",
    });
    expect(envOf(program.one(CONTAINER, "oc"))).toMatchObject({ ANTHROPIC_BASE_URL: "http://credential-proxy:8080/v1", OPENCODE_DISABLE_AUTOUPDATE: "1" });
    const codexProxy = nginxConfOf(program.one(CONTAINER, "cx-credential-proxy"));
    expect(codexProxy).toContain("include /run/credential-proxy/api-key-openai.conf;");
    expect(codexProxy).toContain("proxy_pass https://api.openai.com:443$request_uri;");
    expect(nginxConfOf(program.one(CONTAINER, "oc-credential-proxy"))).toContain("include /run/credential-proxy/api-key-anthropic.conf;");
  });

  it("refuses, before declaring anything, a run option the agent's CLI lacks, naming the agents that have it", async () => {
    const runs = [
      { name: "limited", sandbox: "cx", prompt: "hi", maxTurns: 5, allowedTools: ["Bash"] },
      { name: "fine", sandbox: "main", prompt: "hi", maxTurns: 5 },
    ];
    const failure = await stackOf([{ name: "main" }, { name: "cx", agent: "codex" }], runs).catch((error: unknown) => error);
    expect(problemsOf(failure)).toEqual([
      'runs[0].maxTurns: sandbox "cx" runs codex, whose CLI has no maxTurns (codex takes: model, resume, fork); remove maxTurns from this run, or run it in a sandbox of an agent that has it (claude)',
      'runs[0].allowedTools: sandbox "cx" runs codex, whose CLI has no allowedTools (codex takes: model, resume, fork); remove allowedTools from this run, or run it in a sandbox of an agent that has it (claude)',
    ]);
  });

  it("refuses a run whose agent's API has no key in the stack, naming that API's secret", async () => {
    const runs = [{ name: "r", sandbox: "cx", prompt: "hi" }];
    const failure = await stackOf([{ name: "cx", agent: "codex" }], runs, { anthropicApiKey: SECRETS.anthropicApiKey }).catch((error: unknown) => error);
    expect(problemsOf(failure)).toEqual([
      'runs[0].sandbox: sandbox "cx" reaches its agent\'s API through the credential proxy (auth: proxy), but the stack has no openaiApiKey; run: pulumi config set --secret openaiApiKey <key>, or set auth: "subscription" on the sandbox to use a login kept in its home volume',
    ]);
  });
});
