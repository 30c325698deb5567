/**
 * The package schema other languages' SDKs are generated from: Pulumi's component analyzer infers it
 * from components/config/args.ts and the component's outputs, and the provider marks the secret inputs. Checked
 * here are the types, the enums (the same values the config schema accepts), the descriptions every key
 * must carry, and the secrets.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_KEYS } from "../../components/config/resolve-args";
import { EgressMode } from "../../components/egress/config";
import { BuildCacheType } from "../../components/image/config";
import { AgentSandboxesProvider, PROVIDER_NAME } from "../../components/provider";
import { RestartPolicy, SandboxMode, sandboxSchema } from "../../components/sandbox/config";

interface Property {
  type?: string;
  $ref?: string;
  items?: Property;
  additionalProperties?: Property;
  description?: string;
  plain?: boolean;
  secret?: boolean;
  optional?: boolean;
}
interface ObjectType {
  type: string;
  properties?: Record<string, Property>;
  required?: string[];
  enum?: { name: string; value: string; description?: string }[];
}
interface Schema {
  name: string;
  resources: Record<
    string,
    { isComponent: boolean; inputProperties: Record<string, Property>; properties: Record<string, Property>; requiredInputs: string[]; description?: string }
  >;
  types: Record<string, ObjectType>;
}

const token = (name: string) => `${PROVIDER_NAME}:index:${name}`;
let schema: Schema;

describe("the component's package schema", () => {
  beforeAll(async () => {
    schema = JSON.parse(await new AgentSandboxesProvider().getSchema());
  }, 60_000);

  it("has one component, AgentSandboxes, whose inputs are the stack config's keys", () => {
    expect(schema.name).toBe("agent-sandbox");
    expect(Object.keys(schema.resources)).toEqual([token("AgentSandboxes")]);
    const component = schema.resources[token("AgentSandboxes")];
    expect(component.isComponent).toBe(true);
    expect(Object.keys(component.inputProperties).sort()).toEqual([
      "anthropicApiKey",
      "docker",
      "gitToken",
      "image",
      "isolation",
      "kubernetes",
      "openaiApiKey",
      "refresh",
      "registryPassword",
      "runs",
      "sandboxes",
      "workspace",
    ]);
    expect(component.requiredInputs).toEqual([]);
    expect(component.inputProperties.sandboxes).toMatchObject({ type: "array", items: { $ref: `#/types/${token("SandboxArgs")}` } });
    expect(Object.keys(component.properties).sort()).toEqual(["agentImage", "runs", "sandboxes"]);
    expect(component.properties.sandboxes).toMatchObject({ type: "object", additionalProperties: { $ref: `#/types/${token("SandboxInfo")}` } });
  });

  it("marks the secrets secret and lets them come from other resources; everything else is plain", () => {
    const inputs = schema.resources[token("AgentSandboxes")].inputProperties;
    for (const [key, property] of Object.entries(inputs)) {
      const secret = (SECRET_KEYS as readonly string[]).includes(key);
      expect({ key, secret: property.secret === true, plain: property.plain === true }).toEqual({ key, secret, plain: !secret });
    }
  });

  it("types each sandbox key, requires name, and has every config key a sandbox takes", () => {
    const sandbox = schema.types[token("SandboxArgs")];
    // workspace is required on Docker only, by the config's rules (a cluster's sandbox clones a repository instead).
    expect(sandbox.required).toEqual(["name"]);
    expect(Object.keys(sandbox.properties!).sort()).toEqual(Object.keys(sandboxSchema.shape).sort());
    expect(sandbox.properties!.resources.$ref).toBe(`#/types/${token("ResourcesArgs")}`);
    expect(schema.types[token("ResourcesArgs")].properties!.cpus.type).toBe("number");
    expect(sandbox.properties!.env).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
  });

  it("offers each fixed choice as an enum of exactly the values the config accepts", () => {
    for (const [name, choices] of Object.entries({ SandboxMode, RestartPolicy, EgressMode, BuildCacheType })) {
      const values = schema.types[token(name)].enum?.map((member) => member.value);
      expect(values, name).toEqual(Object.values(choices));
    }
  });

  it("describes every input and output, at every level", () => {
    const undocumented: string[] = [];
    const component = schema.resources[token("AgentSandboxes")];
    const check = (owner: string, properties: Record<string, Property>) => {
      for (const [key, property] of Object.entries(properties)) if (!property.description?.trim()) undocumented.push(`${owner}.${key}`);
    };
    check("AgentSandboxes inputs", component.inputProperties);
    check("AgentSandboxes outputs", component.properties);
    for (const [name, type] of Object.entries(schema.types)) if (type.properties) check(name, type.properties);
    expect(undocumented).toEqual([]);
  });
});
