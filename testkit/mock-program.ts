/**
 * Runs the real program (index.ts) under Pulumi's mock monitor and records every resource it declares.
 * Mocked provider outputs are derived from the inputs (a digest is a hash of the build inputs), so tests
 * can check how a config change propagates without a Docker engine.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { configEntries, isSecretWrapper, reveal, secretConfig } from "./pulumi-wire";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** Resource options as the engine receives them (the mocks' newResource does not show these). */
  readonly options: { replaceOnChanges: string[]; deleteBeforeReplace: boolean; dependsOn: string[]; secretInputs: string[] };
}

export interface Evaluation {
  readonly resources: RecordedResource[];
  /** Every registration's URN as the real engine forms it (the parent's whole type chain), repeats kept. */
  readonly urns: string[];
  readonly outputs: Record<string, unknown>;
  /** Exports as Pulumi Outputs, to inspect secretness. */
  readonly rawOutputs: Record<string, unknown>;
  ofType(type: string): RecordedResource[];
  one(type: string, name: string): RecordedResource;
}

export interface ProgramOptions {
  /** Config keys without the `agent-sandbox:` prefix; objects are stored as JSON like `pulumi config set --path`. */
  readonly config: Record<string, unknown>;
  /** Secret config keys without the prefix. */
  readonly secrets?: Record<string, string>;
  /** Keys (without prefix) to store in plain text though they are secrets, to test the refusal. */
  readonly plainSecrets?: Record<string, string>;
  readonly stack?: string;
  /** stdout the mocked command provider returns for agent runs. */
  readonly runStdout?: string;
  /** Receives the recorded resources even when evaluation fails. */
  readonly onResources?: (resources: RecordedResource[]) => void;
}

const ROOT = path.resolve(__dirname, "..");
export const FIXTURES = path.join(ROOT, "tests/fixtures");

export const mockDigestOf = (value: unknown) => `sha256:${createHash("sha256").update(JSON.stringify(value)).digest("hex")}`;

/** Outputs the real providers would compute, made deterministic from the inputs. */
function mockedState(type: string, name: string, inputs: Record<string, any>, options: ProgramOptions): Record<string, any> {
  switch (type) {
    case "docker-build:index:Image": {
      const digest = mockDigestOf(inputs);
      return { ...inputs, digest, contextHash: mockDigestOf(inputs.context), ref: inputs.push ? `${inputs.tags[0]}@${digest}` : inputs.tags[0] };
    }
    case "docker-build:index:Index":
      return { ...inputs, ref: `${inputs.tag}@${mockDigestOf(inputs.sources)}` };
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: mockDigestOf([inputs.name, inputs.pullTriggers]), repoDigest: inputs.name };
    case "docker:index/network:Network":
      // An engine gives every network it makes a gateway, whether or not the program asked for one.
      return { ...inputs, name: inputs.name ?? name, ipamConfigs: inputs.ipamConfigs ?? [{ subnet: "10.89.7.0/24", gateway: "10.89.7.1" }] };
    case "kubernetes:core/v1:Service":
      // The API server gives every ClusterIP Service an address from its range.
      return {
        ...inputs,
        spec: { ...inputs.spec, clusterIP: `10.96.${parseInt(mockDigestOf(name).slice(7, 9), 16)}.${parseInt(mockDigestOf(name).slice(9, 11), 16)}` },
      };
    case "kubernetes:core/v1:Pod":
      return { ...inputs, metadata: { ...inputs.metadata, uid: mockDigestOf(inputs).slice(7, 43) } };
    case "command:local:Command":
      // The agent's own command prints the stream; its companions (risky-change manifests, container cleanup) print none here.
      return { ...inputs, stdout: name.startsWith("run-") && !/-(baseline|changes|containers)$/.test(name) ? (options.runStdout ?? "") : "", stderr: "" };
    default:
      return { ...inputs, name: inputs.name ?? name };
  }
}

// The SDK's own "wait until every registration has finished" (used by pulumi itself before exiting).
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

async function settle(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) return new Promise((resolve) => value.apply((inner) => resolve(settle(inner))));
  if (Array.isArray(value)) return Promise.all(value.map(settle));
  if (value && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([key, inner]) => [key, await settle(inner)]));
    return Object.fromEntries(entries);
  }
  return value;
}

/** Top-level input names holding a secret anywhere inside, read from the wire form before the mocks unwrap it. */
function secretInputNames(wire: Record<string, unknown>): string[] {
  const holdsSecret = (value: unknown): boolean =>
    isSecretWrapper(value) || (typeof value === "object" && value !== null && Object.values(value).some(holdsSecret));
  return Object.entries(wire)
    .filter(([, value]) => holdsSecret(value))
    .map(([key]) => key)
    .sort();
}

type Options = RecordedResource["options"];

/**
 * Evaluates index.ts once under mocks. `freshModules` must make the next import re-run the program
 * (vitest's vi.resetModules); a process that evaluates only once needs none. `load` runs the program and
 * returns its exports (the bench loads it through Pulumi's language host instead of importing it).
 */
export async function evaluateProgram(
  options: ProgramOptions,
  freshModules: () => void = () => {},
  load: () => Promise<Record<string, unknown>> = () => import(path.join(ROOT, "index.ts")),
): Promise<Evaluation> {
  const resources: RecordedResource[] = [];
  options.onResources?.(resources);
  const optionsByName = new Map<string, Options>();
  const urns: string[] = [];
  // The mock monitor's URNs keep only the parent's last type; the engine's keep its whole chain.
  const qualifiedTypeByMockUrn = new Map<string, string>();
  const stack = options.stack ?? "dev";
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const recorded = optionsByName.get(`${args.type}::${args.name}`)!;
        // The mocks leave some secrets in their wire wrapper; tests read plain values and check secretness via options.
        const inputs = reveal(args.inputs) as Record<string, any>;
        resources.push({ type: args.type, name: args.name, inputs, options: recorded });
        return { id: `${args.name}-id`, state: mockedState(args.type, args.name, inputs, options) };
      },
      call: (args) => args.inputs,
    },
    "agent-sandbox",
    stack,
  );
  const monitor = pulumi.runtime.getMonitor() as any;
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    optionsByName.set(`${req.getType()}::${req.getName()}`, {
      replaceOnChanges: req.getReplaceonchangesList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      dependsOn: req.getDependenciesList().map((urn: string) => urn.split("::").pop()!),
      secretInputs: secretInputNames(req.getObject().toJavaScript()),
    });
    const parentUrn: string = req.getParent();
    const parentQualified = parentUrn ? qualifiedTypeByMockUrn.get(parentUrn) : undefined;
    const qualifiedType = parentQualified ? `${parentQualified}$${req.getType()}` : req.getType();
    qualifiedTypeByMockUrn.set(monitor.newUrn(parentUrn, req.getType(), req.getName()), qualifiedType);
    urns.push(`urn:pulumi:${stack}::agent-sandbox::${qualifiedType}::${req.getName()}`);
    return registerResource(req, callback);
  };
  const secrets = Object.fromEntries(Object.entries(options.secrets ?? {}).map(([key, value]) => [key, secretConfig(value)]));
  const { values, secretKeys } = configEntries("agent-sandbox", { ...options.config, ...secrets, ...options.plainSecrets });
  pulumi.runtime.setAllConfig(values, secretKeys);

  freshModules();
  const rawOutputs = (await load()) as Record<string, unknown>;
  await waitForRPCs();
  const outputs = (await settle({ ...rawOutputs })) as Record<string, unknown>;
  return {
    resources,
    urns,
    outputs,
    rawOutputs,
    ofType: (type) => resources.filter((resource) => resource.type === type),
    one(type, name) {
      const found = resources.filter((resource) => resource.type === type && resource.name === name);
      if (found.length !== 1)
        throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
      return found[0];
    },
  };
}

/**
 * A workspace folder and the agent UID/GID that may write it, as the host checks require: as root (CI)
 * the folder is handed to 1000:1000, the image default; otherwise the agent takes the developer's own IDs.
 */
export function makeWorkspace(prefix = "agent-sandbox-ws-"): { dir: string; uid: number; gid: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (process.getuid!() === 0) {
    fs.chownSync(dir, 1000, 1000);
    return { dir, uid: 1000, gid: 1000 };
  }
  return { dir, uid: process.getuid!(), gid: process.getgid!() };
}
