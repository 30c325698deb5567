import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { configEntries, reveal } from "../pulumi-wire";
import { realizeCommand, updateCommand } from "./command";
import { realizeContainer } from "./container";
import { realizeBuildImage, realizeIndex, realizeRemoteImage } from "./images";
import { getNetwork, realizeNetwork, realizeVolume } from "./network-volume";
import { resolveOutputs, settledOrStalled } from "./settle";
import type { RealizedResource, Tracked } from "./state";
import { destroyAll, removeDependents, sweepLabelled } from "./teardown";
import { type Inputs, stableJson } from "./values";

export { secretConfig } from "../pulumi-wire";
export { rerunCreate } from "./command";
export type { RealizedResource } from "./state";

/**
 * Live harness: runs the real Pulumi program under `pulumi.runtime.setMocks`, and the mock monitor's
 * `newResource` realizes each declared resource on the local engine with the settings the real provider
 * would apply. No Pulumi CLI is involved; MAPPING.md lists what maps to what and the known deviations.
 */

export interface LiveStack {
  /** Resources declared by this deployment, in the order they were realized. */
  readonly resources: RealizedResource[];
  /** Stack outputs (the program's exports), fully resolved, secrets revealed. */
  readonly outputs: Record<string, unknown>;
  /**
   * Deletes everything the harness created for this stack, then anything left on the engine with the
   * stack's labels: containers (and commands' `delete`), networks, volumes (kept with keepVolumes).
   * Images and bind-mount sources are never touched.
   */
  teardown(options?: { keepVolumes?: boolean }): Promise<void>;
}

/** A deployment that failed like a failed `pulumi up`; `deployed.teardown()` still removes what was created. */
export class LiveDeployError extends Error {
  constructor(
    message: string,
    readonly deployed: LiveStack,
  ) {
    super(message);
  }
}

export interface DeployOptions {
  /** Absolute path of the program module (index.ts or a fixture). */
  programPath: string;
  project: string;
  stack: string;
  /** Keys without a namespace get `<project>:`; objects are JSON-encoded; wrap secrets with secretConfig(). */
  config: Record<string, unknown>;
}

/** Per-stack state across deployLive calls (like a Pulumi state file), keyed by "type::logicalName". */
const states = new Map<string, Map<string, Tracked>>();

async function realize(type: string, name: string, inputs: Inputs, track: (t: Tracked) => void): Promise<Tracked> {
  switch (type) {
    case "docker:index/container:Container":
      return realizeContainer(name, inputs, track);
    case "docker:index/network:Network":
      return realizeNetwork(name, inputs);
    case "docker:index/volume:Volume":
      return realizeVolume(name, inputs);
    case "docker:index/remoteImage:RemoteImage":
      return realizeRemoteImage(name, inputs);
    case "docker-build:index:Image":
      return realizeBuildImage(name, inputs);
    case "docker-build:index:Index":
      return realizeIndex(name, inputs);
    case "command:local:Command":
      return realizeCommand(name, inputs);
    default:
      throw new Error(`harness does not realize ${type} (resource ${name}); add it to testkit/harness/`);
  }
}

/**
 * Explicit providers are accepted (their registry credentials are not needed for the unauthenticated
 * loopback registry) only when they target the engine the harness uses.
 */
function checkProvider(type: string, name: string, inputs: Inputs): void {
  const targetsEngine = type === "pulumi:providers:docker" || type === "pulumi:providers:docker-build";
  const localSocket = inputs.host === undefined || inputs.host === "" || inputs.host === "unix:///var/run/docker.sock";
  if (targetsEngine && !localSocket) {
    throw new Error(`harness realizes on the local engine only; provider ${name} sets host ${JSON.stringify(inputs.host)}`);
  }
}

/** AGENT_SANDBOX_HARNESS_DEBUG=1 prints each realization as it starts and ends, to see where a deploy stalls. */
function debug(message: string): void {
  if (process.env.AGENT_SANDBOX_HARNESS_DEBUG === "1") console.error(`[harness] ${message}`);
}

/**
 * Loads the program so that it runs again. Under vitest that is vi.resetModules (@pulumi/* stay shared, they
 * are external). A plain process (the bench, which deploys more than once) loads it through require, whose
 * cache forgets our own modules but not node_modules': the SDK's runtime state must stay the one mocked.
 */
async function loadProgram(programPath: string): Promise<Record<string, unknown>> {
  if (process.env.VITEST) {
    const { vi } = await import("vitest");
    vi.resetModules();
    return (await import(programPath)) as Record<string, unknown>;
  }
  for (const key of Object.keys(require.cache)) if (!key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
  return require(programPath) as Record<string, unknown>;
}

/**
 * Runs the program at programPath against the mock monitor and realizes its resources. A second call for
 * the same project/stack acts as `pulumi up` on the existing state: a resource whose inputs are unchanged
 * (and whose engine object still exists) is kept; a changed one is replaced delete-first (a changed
 * local.Command is updated, or replaced when its triggers changed); one no longer declared is deleted.
 * Images are rebuilt/looked up on every deploy (BuildKit's cache makes that cheap).
 */
export async function deployLive(options: DeployOptions): Promise<LiveStack> {
  const stateKey = `${options.project}/${options.stack}`;
  const state = states.get(stateKey) ?? new Map<string, Tracked>();
  states.set(stateKey, state);
  const declared: string[] = [];
  const failures: string[] = [];
  const progress = { inFlight: 0, lastChange: Date.now() };

  const newResource = async (args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> => {
    const inputs = reveal(args.inputs) as Inputs;
    debug(`registered ${args.type}::${args.name}`);
    if (!args.custom) return { id: undefined, state: args.inputs };
    if (args.type.startsWith("pulumi:providers:")) {
      try {
        checkProvider(args.type, args.name, inputs);
      } catch (error) {
        failures.push(`${args.type} ${args.name}: ${(error as Error).message}`);
        throw error;
      }
      return { id: `${args.name}_id`, state: args.inputs };
    }
    const key = `${args.type}::${args.name}`;
    const started = Date.now();
    debug(`realizing ${key}`);
    progress.inFlight += 1;
    try {
      if (declared.includes(key)) throw new Error(`duplicate resource ${key} in one deployment`);
      declared.push(key);
      const previous = state.get(key);
      const track = (t: Tracked) => {
        state.delete(key);
        state.set(key, t);
      };
      let tracked: Tracked;
      const unchanged = previous && stableJson(previous.inputs) === stableJson(inputs);
      if (previous && unchanged && previous.kind !== "image" && (await previous.exists())) {
        tracked = previous;
      } else if (previous?.kind === "command" && stableJson(previous.inputs.triggers) === stableJson(inputs.triggers)) {
        tracked = await updateCommand(previous, inputs);
      } else if (previous?.kind === "command") {
        tracked = await realize(args.type, args.name, inputs, track);
        await previous.destroy();
      } else {
        if (previous) {
          if (previous.kind === "network" || previous.kind === "volume") await removeDependents(state, previous);
          await previous.destroy();
          state.delete(key);
        }
        tracked = await realize(args.type, args.name, inputs, track);
      }
      track(tracked);
      debug(`realized ${key} in ${Date.now() - started} ms`);
      return { id: tracked.id, state: tracked.outputs };
    } catch (error) {
      debug(`failed ${key} after ${Date.now() - started} ms: ${(error as Error).message}`);
      failures.push(`${args.type} ${args.name}: ${(error as Error).message}`);
      throw error;
    } finally {
      progress.inFlight -= 1;
      progress.lastChange = Date.now();
    }
  };
  const call = async (args: pulumi.runtime.MockCallArgs): Promise<Record<string, unknown>> => {
    if (args.token === "docker:index/getNetwork:getNetwork") return getNetwork(reveal(args.inputs) as Inputs);
    throw new Error(`harness does not answer invoke ${args.token}; add it to testkit/harness/index.ts`);
  };

  // The language host treats unhandled rejections as deployment errors. Under mocks each failed registration
  // rejects many internal promises; this listener collects them (vitest leaves them alone while a listener exists).
  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(String((reason as Error)?.message ?? reason));
  process.on("unhandledRejection", onUnhandled);
  const programErrors: string[] = [];
  let outputs: Record<string, unknown> = {};
  try {
    const { values, secretKeys } = configEntries(options.project, options.config);
    pulumi.runtime.setAllConfig(values, secretKeys);
    await pulumi.runtime.setMocks({ newResource, call }, options.project, options.stack, false);
    // waitForRPCs (internal, what `disconnect` awaits) settles once every registration has been answered.
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;
    try {
      const program = await loadProgram(options.programPath);
      const exported = typeof program.default === "function" ? await (program.default as () => unknown)() : program;
      await settledOrStalled(waitForRPCs(), failures, progress);
      outputs = await resolveOutputs((exported ?? {}) as Record<string, unknown>, programErrors);
    } catch (error) {
      programErrors.push(`program: ${(error as Error).stack ?? error}`);
    }
    await settledOrStalled(waitForRPCs(), failures, progress);
    // Unhandled rejections are reported on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }

  const resources = declared.flatMap((key) => (state.has(key) ? [state.get(key) as Tracked] : []));
  const stack: LiveStack = {
    resources,
    outputs,
    teardown: async ({ keepVolumes = false } = {}) => {
      const errors: string[] = [];
      await destroyAll(state, [...state.keys()], keepVolumes, errors);
      await sweepLabelled(options.stack, keepVolumes);
      if (errors.length > 0) throw new Error(`teardown of ${stateKey} failed:\n${errors.join("\n")}`);
    },
  };
  const unexplained = unhandled.filter((message) => !message.startsWith("failed to register new resource"));
  if (failures.length > 0 || unexplained.length > 0) {
    const messages = failures.length > 0 ? failures : [...programErrors, ...unexplained];
    throw new LiveDeployError(`deployment ${stateKey} failed:\n${messages.join("\n")}`, stack);
  }
  if (programErrors.length > 0) throw new LiveDeployError(`deployment ${stateKey} failed:\n${programErrors.join("\n")}`, stack);

  const errors: string[] = [];
  await destroyAll(
    state,
    [...state.keys()].filter((key) => !declared.includes(key)),
    false,
    errors,
  );
  if (errors.length > 0) throw new LiveDeployError(`deployment ${stateKey} failed deleting old resources:\n${errors.join("\n")}`, stack);
  return stack;
}
