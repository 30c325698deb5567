/**
 * docker.Container inputs as `docker create` arguments, for containers the program starts outside the
 * provider (a run's ephemeral container). The flags are read off the very inputs the provider gets, so
 * there is one decision of what a container is; an input this does not know is an error, never dropped.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

export type ContainerSpec = pulumi.Unwrap<docker.ContainerArgs>;

const each =
  <T>(flag: string, format: (item: T) => string = String) =>
  (values: readonly T[]) =>
    values.flatMap((item) => [flag, format(item)]);
const single =
  <T>(flag: string, format: (value: T) => string = String) =>
  (value: T) => [flag, format(value)];
const toggle = (flag: string) => (on: boolean) => (on ? [flag] : []);
/** The provider's memory inputs are in MB. */
const megabytes = (value: number) => `${value}m`;

function mountFlag(mount: NonNullable<ContainerSpec["mounts"]>[number]): string {
  const fields = [`type=${mount.type}`, ...(mount.source ? [`source=${mount.source}`] : []), `target=${mount.target}`];
  if (mount.readOnly) fields.push("readonly");
  const tmpfs = mount.tmpfsOptions;
  if (tmpfs?.sizeBytes !== undefined) fields.push(`tmpfs-size=${tmpfs.sizeBytes}`);
  if (tmpfs?.mode !== undefined) fields.push(`tmpfs-mode=${tmpfs.mode.toString(8)}`);
  const known = new Set(["type", "source", "target", "readOnly", "tmpfsOptions"]);
  const unknown = Object.keys(mount).filter((key) => !known.has(key) && (mount as Record<string, unknown>)[key] !== undefined);
  if (unknown.length > 0) throw new Error(`container mount ${mount.target}: no docker CLI form for ${unknown.join(", ")}`);
  return fields.join(",");
}

function networkFlags(networks: NonNullable<ContainerSpec["networksAdvanced"]>): string[] {
  // `docker create` joins one network; a second would need `docker network connect` before the start.
  if (networks.length > 1) throw new Error(`a container on ${networks.length} networks has no single docker create form`);
  return networks.flatMap((network) => ["--network", network.name, ...(network.aliases ?? []).flatMap((alias) => ["--network-alias", alias])]);
}

function healthFlags(health: NonNullable<ContainerSpec["healthcheck"]>): string[] {
  const [kind, ...test] = health.tests ?? [];
  // The CLI takes a shell string only: `CMD x` becomes `CMD-SHELL x`, which runs the same single executable.
  if (kind !== "CMD" && kind !== "CMD-SHELL") throw new Error(`healthcheck ${kind}: no docker CLI form`);
  return [
    "--health-cmd",
    test.join(" "),
    ...(health.interval ? ["--health-interval", health.interval] : []),
    ...(health.timeout ? ["--health-timeout", health.timeout] : []),
    ...(health.startPeriod ? ["--health-start-period", health.startPeriod] : []),
    ...(health.retries !== undefined ? ["--health-retries", String(health.retries)] : []),
  ];
}

/** Each input, as the flags that set it; null for inputs that are the provider's own behaviour, not the container's. */
const FLAGS: { [K in keyof ContainerSpec]?: ((value: NonNullable<ContainerSpec[K]>) => string[]) | null } = {
  name: single("--name"),
  hostname: single("--hostname"),
  user: single("--user"),
  workingDir: single("--workdir"),
  envs: each("--env"),
  capabilities: (caps) => [...each("--cap-drop")(caps.drops ?? []), ...each("--cap-add")(caps.adds ?? [])],
  securityOpts: each("--security-opt"),
  readOnly: toggle("--read-only"),
  memory: single("--memory", megabytes),
  memorySwap: single("--memory-swap", megabytes),
  cpuPeriod: single("--cpu-period"),
  cpuQuota: single("--cpu-quota"),
  ulimits: each("--ulimit", (limit: NonNullable<ContainerSpec["ulimits"]>[number]) => `${limit.name}=${limit.soft}:${limit.hard}`),
  logDriver: single("--log-driver"),
  logOpts: (options) => each("--log-opt")(Object.entries(options).map(([key, value]) => `${key}=${value}`)),
  healthcheck: healthFlags,
  privileged: toggle("--privileged"),
  init: toggle("--init"),
  mounts: each("--mount", mountFlag),
  networkMode: single("--network"),
  networksAdvanced: networkFlags,
  hosts: each("--add-host", (host: NonNullable<ContainerSpec["hosts"]>[number]) => `${host.host}:${host.ip}`),
  pidMode: single("--pid"),
  ipcMode: single("--ipc"),
  labels: each("--label", (label: NonNullable<ContainerSpec["labels"]>[number]) => `${label.label}=${label.value}`),
  restart: single("--restart"),
  runtime: single("--runtime"),
  destroyGraceSeconds: single("--stop-timeout"),
  // Whether the provider starts the container and waits for it: the script that creates it decides that.
  start: null,
  mustRun: null,
  wait: null,
  // Positional, after the flags.
  image: null,
  command: null,
};

/** `docker create` arguments (after `create`) for a container the provider would make from `spec`. */
export function dockerCreateArguments(spec: ContainerSpec): string[] {
  const set = Object.entries(spec).filter(([, value]) => value !== undefined);
  const unknown = set.filter(([key]) => !(key in FLAGS)).map(([key]) => key);
  if (unknown.length > 0) throw new Error(`container ${spec.name}: no docker CLI form for ${unknown.join(", ")}`);
  const flags = set.flatMap(([key, value]) => (FLAGS[key as keyof ContainerSpec] as ((value: unknown) => string[]) | null)?.(value) ?? []);
  return [...flags, String(spec.image), ...((spec.command as string[] | undefined) ?? [])];
}
