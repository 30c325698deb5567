/** Taking a harness deployment down: tracked resources in the engine's order, stray labelled objects, dependents of a replaced network or volume. */
import { LABEL_PREFIX, MANAGED_BY } from "../../components/engine/naming";
import { engine, isNotFound, type Kind, type Tracked } from "./state";

/** Deletes tracked resources in the order the engine accepts: containers and commands, networks, volumes. */
export async function destroyAll(state: Map<string, Tracked>, keys: string[], keepVolumes: boolean, errors: string[]): Promise<void> {
  const phases: Kind[][] = [["container", "command"], ["network"], keepVolumes ? [] : ["volume"], ["image"]];
  for (const kinds of phases) {
    for (const key of [...keys].reverse()) {
      const tracked = state.get(key);
      if (!tracked || !kinds.includes(tracked.kind)) continue;
      try {
        await tracked.destroy();
        state.delete(key);
      } catch (error) {
        errors.push(`deleting ${tracked.type} ${tracked.name}: ${(error as Error).message}`);
      }
    }
  }
}

/** Removes engine objects carrying the stack's labels that the state no longer knows (earlier runs, crashes). */
export async function sweepLabelled(stack: string, keepVolumes: boolean): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL_PREFIX}.managed-by=${MANAGED_BY}`, `${LABEL_PREFIX}.stack=${stack}`] });
  const ignoreMissing = (error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error));
  for (const c of await engine.listContainers({ all: true, filters })) {
    await engine.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreMissing);
  }
  for (const n of await engine.listNetworks({ filters })) await engine.getNetwork(n.Id).remove().catch(ignoreMissing);
  if (!keepVolumes) {
    for (const v of (await engine.listVolumes({ filters })).Volumes ?? []) await engine.getVolume(v.Name).remove().catch(ignoreMissing);
  }
}

/**
 * Before a network or volume is replaced (delete-first), the containers of the previous deployment that use
 * it are removed, as Pulumi replaces dependents of a delete-before-replace resource. They are recreated when
 * the program declares them again.
 */
export async function removeDependents(state: Map<string, Tracked>, replaced: Tracked): Promise<void> {
  for (const [key, tracked] of state) {
    if (tracked.kind !== "container") continue;
    const info = await engine
      .getContainer(tracked.id)
      .inspect()
      .catch(() => undefined);
    const uses =
      replaced.kind === "network"
        ? Object.values(info?.NetworkSettings.Networks ?? {}).some((n) => n.NetworkID === replaced.id)
        : (info?.Mounts ?? []).some((m) => m.Name === replaced.id);
    if (uses) {
      await tracked.destroy();
      state.delete(key);
    }
  }
}
