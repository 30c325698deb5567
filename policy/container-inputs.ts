/**
 * Reading a `docker:index/container:Container`'s inputs (the @pulumi/docker v5 ContainerArgs shape) as the
 * rules judge them: its mounts from `mounts` and `volumes`, its host binds, its labels. Defensive: an
 * input of the wrong type or unknown during preview reads as absent. A pod's containers are read into the
 * same shape (pod-inputs.ts), with one input Docker has no counterpart of: `kubernetesSecrets`, the
 * Kubernetes Secrets the container reads.
 */
/** Something mounted into the container, from `mounts` (any type) or `volumes`. */
export interface ContainerMount {
  /** Host path for a bind, volume name for a volume, undefined for tmpfs. */
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** True for a host folder or file (`mounts` type bind, `volumes` hostPath). */
  readonly fromHost: boolean;
  /** Where it was declared, for messages: `mounts[0]`, `volumes[2]`. */
  readonly at: string;
}

/** A host folder bound into the container. */
export type HostBind = ContainerMount & { readonly source: string };

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Every mount the container declares, in `mounts` then `volumes` order. */
export function containerMounts(inputs: Record<string, unknown>): ContainerMount[] {
  const fromMounts = asArray(inputs.mounts).map((entry, index) => {
    const mount = asRecord(entry);
    return {
      source: asString(mount.source),
      target: asString(mount.target) ?? "",
      readOnly: mount.readOnly === true,
      fromHost: mount.type === "bind",
      at: `mounts[${index}]`,
    };
  });
  const fromVolumes = asArray(inputs.volumes).map((entry, index) => {
    const volume = asRecord(entry);
    const hostPath = asString(volume.hostPath);
    return {
      source: hostPath ?? asString(volume.volumeName),
      target: asString(volume.containerPath) ?? "",
      readOnly: volume.readOnly === true,
      fromHost: hostPath !== undefined,
      at: `volumes[${index}]`,
    };
  });
  return [...fromMounts, ...fromVolumes];
}

/** Every host bind the container declares. */
export function hostBinds(inputs: Record<string, unknown>): HostBind[] {
  return containerMounts(inputs).filter((mount): mount is HostBind => mount.fromHost && mount.source !== undefined);
}

/** The comma-separated names on one of the container's labels, empty when it has none. */
export function labelItems(inputs: Record<string, unknown>, name: string): Set<string> {
  const label = asArray(inputs.labels)
    .map(asRecord)
    .find((entry) => entry.label === name);
  const value = asString(label?.value) ?? "";
  return new Set(
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
}
