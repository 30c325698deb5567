/**
 * Names derived from sandbox names never collide: a config whose sandboxes would share an engine object's
 * name is refused up front, and every config that is accepted declares distinct names and URNs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { type EngineObject, physicalName, STACK_OBJECTS, sandboxObjects } from "../../components/engine/naming";
import { ConfigError } from "../../components/values/config-error";
import { evaluateProgram, makeWorkspace } from "./support/program";

const identity = { project: "agent-sandbox", stack: "dev" };
const ENGINE_TYPES = {
  "docker:index/container:Container": "container",
  "docker:index/network:Network": "network",
  "docker:index/volume:Volume": "volume",
} as const;

/** Names built from the words the derived names add, so generated configs often hit a collision. */
const sandboxNameArbitrary = fc
  .array(fc.constantFrom("main", "egress", "net", "home", "a", "b2", "credentials", "credential-proxy", "proxy-secrets"), { minLength: 1, maxLength: 3 })
  .map((words) => words.join("-"))
  .filter((name) => name.length <= 31);
const sandboxNamesArbitrary = fc.uniqueArray(sandboxNameArbitrary, { minLength: 1, maxLength: 4 });

/** Physical names of every engine object a stack of these sandboxes has, as `kind:name`, repeats kept. */
function engineNamesOf(sandboxes: string[]): string[] {
  const objects: EngineObject[] = [...Object.values(STACK_OBJECTS), ...sandboxes.flatMap((name) => Object.values(sandboxObjects(name)))];
  return objects.map((object) => `${object.kind}:${physicalName(identity, object.name)}`);
}

const repeated = (values: string[]) => values.filter((value, index) => values.indexOf(value) !== index);

function problemsOf(sandboxes: string[]): string[] {
  try {
    parseStackConfig({ sandboxes: sandboxes.map((name) => ({ name, workspace: `/srv/${name}` })) }, { homeDir: "/home/me" });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe("names derived from sandbox names", () => {
  it("refuses exactly the sandbox sets whose engine objects would share a name, on a name key", () => {
    fc.assert(
      fc.property(sandboxNamesArbitrary, (sandboxes) => {
        const collisions = repeated(engineNamesOf(sandboxes));
        const problems = problemsOf(sandboxes);
        expect(problems.length > 0, `collisions ${collisions.join(", ")}; problems ${problems.join(" | ")}`).toBe(collisions.length > 0);
        for (const problem of problems)
          expect(problem).toMatch(/^sandboxes\[\d+\]\.name: ".+" would name its .+ …-.+, already the name of .+; rename one of the two sandboxes/);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a sandbox named like another's egress proxy, naming both and a free name", () => {
    expect(problemsOf(["main", "main-egress"])).toEqual([
      'sandboxes[1].name: "main-egress" would name its container …-main-egress, already the name of sandbox "main"\'s egress proxy container; rename one of the two sandboxes (e.g. "main-egress2" for this one)',
    ]);
    expect(problemsOf(["main-egress", "main"])).toEqual([
      'sandboxes[1].name: "main" would name its egress proxy container …-main-egress, already the name of sandbox "main-egress"\'s container; rename one of the two sandboxes (e.g. "main2" for this one)',
    ]);
  });

  it("declares distinct engine names and URNs for every accepted set, runs of the same names included, in the real program", async () => {
    const workspace = makeWorkspace();
    await fc.assert(
      fc.asyncProperty(sandboxNamesArbitrary, async (sandboxes) => {
        fc.pre(problemsOf(sandboxes).length === 0);
        const program = await evaluateProgram({
          config: {
            sandboxes: sandboxes.map((name) => ({ name, workspace: workspace.dir })),
            runs: sandboxes.map((name) => ({ name, sandbox: name, prompt: "hi" })),
            image: { agentUid: workspace.uid, agentGid: workspace.gid },
          },
          secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
        });
        const engineNames = program.resources.flatMap((resource) => {
          const kind = ENGINE_TYPES[resource.type as keyof typeof ENGINE_TYPES];
          return kind ? [`${kind}:${resource.inputs.name}`] : [];
        });
        // The stack's proxy secrets volume; per sandbox its container, network, home volume, egress proxy, its outbound network and its credential proxy.
        expect(engineNames).toHaveLength(1 + 6 * sandboxes.length);
        expect(repeated(engineNames)).toEqual([]);
        expect(repeated(program.urns)).toEqual([]);
      }),
      { numRuns: 12 },
    );
    // Twelve evaluations of the real program: about 9 s alone, several times that beside CI's live builds.
  }, 120_000);
});
