/**
 * The layout's rules, checked on the import graph (madge) and the files themselves: no import cycles,
 * between files or between the component's folders; the config assembly (components/config/) is imported
 * only by the top-level component and the program, so the domains own their sections and never depend on
 * it; the value parsers (components/values/) import nothing of ours; the product code never reaches into
 * tests or tooling, scripts never into tests; source files stay small; everything specific to an agent
 * lives in its folder and to an API in its provider file; and only the engine seam (components/engine/) spells an engine's CLI in
 * a command or its host gateway, sockets and network options.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import madge from "madge";
import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_PROFILES, type AgentProfile, API_PROVIDERS, type ApiProvider } from "../../components/agents";
import { KNOWN_ENGINES } from "../../components/engine/engine";

const ROOT = path.resolve(__dirname, "../..");
const SOURCE_FOLDERS = ["components", "scripts", "policy", "testkit"];
const MAX_LINES = 300;
/**
 * What names one agent: its name and executable as words, its release, the variables it reads, its sign-in
 * hosts, its settings files and the longer flags of its non-interactive invocation (its output format among
 * them). A marker several agents share (a short flag like `--model`, the variables of the API's own SDK) names
 * none of them: the API's ones count as the API's markers instead.
 */
function ownMarkers(agent: AgentProfile): string[] {
  const invocation = agent.cliArguments({ maxTurns: 1, allowedTools: [], model: "m" }).filter((arg) => /^-{1,2}[a-z]/.test(arg) && arg.length > 8);
  return [
    agent.defaultVersion,
    agent.api.baseUrlEnv,
    agent.api.keyEnv,
    ...agent.api.credentialEnv,
    ...Object.keys(agent.envDefaults),
    ...agent.signInEndpoints.map((endpoint) => endpoint.split(":")[0]),
    ...agent.protectedPaths,
    ...invocation,
  ];
}

const AGENTS = Object.values(AGENT_PROFILES);
const sharedMarkers = (agents: readonly AgentProfile[]) => {
  const counts = new Map<string, number>();
  for (const marker of agents.flatMap((agent) => [...new Set(ownMarkers(agent))])) counts.set(marker, (counts.get(marker) ?? 0) + 1);
  return new Set([...counts].filter(([, count]) => count > 1).map(([marker]) => marker));
};

function agentMarkers(agent: AgentProfile): RegExp {
  const shared = sharedMarkers(AGENTS);
  const words = [agent.name, agent.executable].map((word) => `\\b${literal(word)}\\b`);
  return new RegExp(
    [
      ...words,
      ...ownMarkers(agent)
        .filter((marker) => !shared.has(marker))
        .map(literal),
    ].join("|"),
  );
}

/** What names one API: its name as a word, its hosts, its key formats, and what the agents calling it share (its SDK's variables). */
function providerMarkers(provider: ApiProvider): RegExp {
  const hosts = [new URL(provider.defaultUpstream).hostname, provider.endpoint.split(":")[0], new URL(provider.probeUrl).hostname];
  const formats = provider.keyFormats.map((format) => format.source.replace(/^\^/, "").replace(/[\\(].*$/, "")).filter((prefix) => prefix.length > 3);
  const ofItsAgents = sharedMarkers(AGENTS.filter((agent) => agent.provider.name === provider.name));
  return new RegExp([`\\b${literal(provider.name)}\\b`, ...[...hosts, ...formats, ...ofItsAgents].map(literal)].join("|"));
}

/** Where the agents and the APIs are listed by name. */
const REGISTRIES = [path.join("components", "agents", "index.ts"), path.join("components", "agents", "providers", "index.ts")];

/** The code that builds the commands the program and the ops scripts run, besides the engine seam itself. */
const ENGINE_CLIENT_CODE = ["index.ts", "components", "scripts/ops", "policy"];
const ENGINE_SEAM = path.join("components", "engine");
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const ENGINE_CLIS = KNOWN_ENGINES.map((engine) => literal(engine.cli)).join("|");
/**
 * An engine's CLI where a shell reads a command: with its arguments at the start of a string or line or
 * after `&&`, `|`, `||`, `;` or `$(`; after a hand-built prefix (`${env} docker`); or as the program a
 * process is spawned with.
 */
const ENGINE_CLI_IN_COMMAND = new RegExp(
  [
    `(?:^|[\`"'(;|]|&&|\\$\\()\\s*(?:${ENGINE_CLIS})\\s`,
    `\\}\\s*(?:${ENGINE_CLIS})(?=[\\s\`"'])`,
    `(?:spawn|exec)\\w*\\(\\s*[\`"'](?:${ENGINE_CLIS})[\`"']`,
  ].join("|"),
);
/** What else only the seam knows: the host-gateway entry, the API sockets, the isolated network's options. */
const ENGINE_FACTS = KNOWN_ENGINES.flatMap((engine) => [
  engine.hostGateway.host,
  engine.hostGateway.ip,
  ...Object.keys(engine.isolatedNetworkOptions("net")),
  ...engine.sockets.paths,
]).filter((fact) => fact !== "");

let graph: Record<string, string[]>;
let cycles: string[][];

const importsOf = (prefix: string) =>
  Object.entries(graph)
    .filter(([file]) => file.startsWith(prefix))
    .flatMap(([file, imports]) => imports.map((imported) => `${file} -> ${imported}`));

/** The domain folder of a file of the component (`components/sandbox/x.ts` → sandbox); undefined for its top-level files. */
function componentFolder(file: string): string | undefined {
  const parts = file.split("/");
  return parts[0] === "components" && parts.length > 2 ? parts[1] : undefined;
}

/** The lines of a file that are code, not comments, as `file:line: text`. */
function codeLines(file: string): { where: string; text: string }[] {
  return fs
    .readFileSync(path.join(ROOT, file), "utf8")
    .split("\n")
    .map((text, index) => ({ where: `${file}:${index + 1}`, text: text.trim() }))
    .filter(({ text }) => !/^(\/\/|\/\*|\*|import\b)|\bfrom ["'][^"']+["'];?$/.test(text));
}

/** Lines of the code outside the engine seam that spell what only the seam may know. */
function engineLeaks(files: readonly string[]): string[] {
  return files
    .filter((file) => !file.startsWith(ENGINE_SEAM))
    .flatMap(codeLines)
    .filter(({ text }) => ENGINE_CLI_IN_COMMAND.test(text) || ENGINE_FACTS.some((fact) => text.includes(fact)))
    .map(({ where, text }) => `${where}: ${text}`);
}

function sourceFiles(folder: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.join(folder, file));
}

/** Every file under a folder, scripts and Dockerfiles included. */
function filesUnder(folder: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

describe("the code's layout", () => {
  beforeAll(async () => {
    // Type-only imports count: a cycle through types still ties the modules together.
    const result = await madge(
      ["index.ts", ...SOURCE_FOLDERS, "tests"].map((entry) => path.join(ROOT, entry)),
      {
        baseDir: ROOT,
        fileExtensions: ["ts"],
        tsConfig: path.join(ROOT, "tsconfig.json"),
        detectiveOptions: { ts: { skipTypeImports: false } },
      },
    );
    graph = result.obj();
    cycles = result.circular();
  }, 60_000);

  it("reads the whole code base", () => {
    expect(Object.keys(graph)).toEqual(expect.arrayContaining(["index.ts", "components/agent-sandboxes.ts", "scripts/bench.ts", "testkit/mock-program.ts"]));
  });

  it("has no import cycles", () => {
    expect(cycles).toEqual([]);
  });

  it("keeps the component free of tests and tooling, and scripts free of tests", () => {
    expect(importsOf("components/").filter((edge) => / -> (tests|testkit|scripts|policy)\//.test(edge))).toEqual([]);
    expect(importsOf("scripts/").filter((edge) => / -> tests\//.test(edge))).toEqual([]);
    expect(importsOf("policy/").filter((edge) => / -> (tests|testkit|scripts)\//.test(edge))).toEqual([]);
  });

  it("keeps the component's folders in one direction: no two import each other", () => {
    const edges = new Set(
      importsOf("components/")
        .map((edge) => edge.split(" -> ").map(componentFolder))
        .filter(([from, to]) => from && to && from !== to)
        .map(([from, to]) => `${from} -> ${to}`),
    );
    const both = [...edges].filter((edge) => edges.has(edge.split(" -> ").reverse().join(" -> ")));
    expect(both).toEqual([]);
  });

  it("lets only the top-level component and the program import the config assembly", () => {
    const intoConfig = importsOf("components/").filter((edge) => / -> components\/config\//.test(edge));
    const fromFolders = intoConfig.filter((edge) => {
      const from = edge.split(" -> ")[0];
      return componentFolder(from) !== undefined && !from.startsWith("components/config/");
    });
    expect(fromFolders).toEqual([]);
  });

  it("keeps the shared value parsers a leaf", () => {
    expect(importsOf("components/values/").filter((edge) => / -> (?!components\/values\/)[^ ]+$/.test(edge) && !/ -> node_modules/.test(edge))).toEqual([]);
  });

  it(`keeps every source file under about ${MAX_LINES} lines`, () => {
    const long = [...SOURCE_FOLDERS.flatMap(sourceFiles), "index.ts"]
      .map((file) => ({ file, lines: fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").length }))
      .filter((entry) => entry.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("keeps the engine's CLI, host gateway, sockets and network options in components/engine", () => {
    const files = ENGINE_CLIENT_CODE.flatMap((entry) => (entry.endsWith(".ts") ? [entry] : sourceFiles(entry)));
    expect(engineLeaks(files)).toEqual([]);
  });

  it("keeps what is specific to an agent in its folder, and to an API in its provider file (components and docker/)", () => {
    // The documented arguments (args.ts) are the config reference: they name the agents and secrets a user sets.
    const files = [...sourceFiles("components"), ...filesUnder("docker")].filter((file) => !file.endsWith(`${path.sep}args.ts`));
    const agentFolder = (agent: AgentProfile) => path.join("components", "agents", agent.name);
    const leaks = [
      ...Object.values(AGENT_PROFILES).map((agent) => ({ homes: [agentFolder(agent)], pattern: agentMarkers(agent) })),
      ...Object.values(API_PROVIDERS).map((provider) => ({
        // An API is also named by the agents that call it.
        homes: [
          path.join("components", "agents", "providers", `${provider.name}.ts`),
          ...Object.values(AGENT_PROFILES)
            .filter((agent) => agent.provider.name === provider.name)
            .map(agentFolder),
        ],
        pattern: providerMarkers(provider),
      })),
    ].flatMap(({ homes, pattern }) =>
      files
        .filter((file) => !REGISTRIES.includes(file) && !homes.some((home) => file.startsWith(home)))
        .flatMap((file) =>
          fs
            .readFileSync(path.join(ROOT, file), "utf8")
            .split("\n")
            .flatMap((line, index) => (pattern.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
        ),
    );
    expect(leaks).toEqual([]);
  });

  it("sees a leak: each agent's and provider's markers match what their own folder says", () => {
    for (const agent of Object.values(AGENT_PROFILES)) {
      expect(agentMarkers(agent).test(`${agent.executable} --version`)).toBe(true);
      // Its base-URL variable is its own, or its API's when another agent of that API reads it too.
      const line = `export ${agent.api.baseUrlEnv}=x`;
      expect(agentMarkers(agent).test(line) || providerMarkers(agent.provider).test(line)).toBe(true);
    }
    for (const provider of Object.values(API_PROVIDERS)) expect(providerMarkers(provider).test(provider.defaultUpstream)).toBe(true);
  });
});
