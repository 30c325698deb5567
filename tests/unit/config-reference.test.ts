/**
 * docs/config-reference.md is generated from the component's package schema (scripts/docs/config-reference.ts):
 * the committed page must be exactly what the schema gives today, so a key added, removed or redocumented in
 * an Args interface without `npm run docs:config` fails here.
 */
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { currentSchema, type PackageSchema, REFERENCE_PAGE, renderConfigReference } from "../../scripts/docs/config-reference";

let schema: PackageSchema;

describe("the generated configuration reference", () => {
  beforeAll(async () => {
    schema = await currentSchema();
  }, 60_000);

  it("is committed as the schema gives it (else run: npm run docs:config)", () => {
    expect(fs.readFileSync(REFERENCE_PAGE, "utf8")).toBe(renderConfigReference(schema));
  });

  it("has a section for every object of the config, each key with its description", () => {
    const page = renderConfigReference(schema);
    for (const section of [
      "sandboxes[i]",
      "sandboxes[i].resources",
      "sandboxes[i].egress",
      "sandboxes[i].egress.healthProbe",
      "image",
      "image.registry",
      "runs[i]",
      "docker",
      "refresh",
    ]) {
      expect(page).toContain(`## \`${section}\``);
    }
    expect(page).not.toMatch(/\| \|$/m);
  });

  it("changes when a key's documentation changes", () => {
    const component = schema.resources["agent-sandbox:index:AgentSandboxes"];
    const edited = structuredClone(schema) as { resources: Record<string, { inputProperties: Record<string, { description?: string }> }> };
    edited.resources["agent-sandbox:index:AgentSandboxes"].inputProperties.workspace.description = "changed";
    expect(renderConfigReference(edited as unknown as PackageSchema)).not.toBe(renderConfigReference(schema));
    expect(component.inputProperties.workspace.description).not.toBe("changed");
  });
});
