import type Docker from "dockerode";
import { type Inputs, labelMap, parseCpus, parseGoDuration, rejectUnmapped } from "./values";

/**
 * docker.Container inputs -> the engine's create body, following resourceDockerContainerCreate in
 * kreuzwerker/terraform-provider-docker v4.5.0 (the upstream pulumi-docker bridges). Line references are
 * in MAPPING.md. Terraform's `d.GetOk` treats zero values as unset, which `given` reproduces.
 */

const MB = 1024 * 1024;

/** Container inputs the harness realizes. Anything else throws (see rejectUnmapped). */
const CONTAINER_FIELDS = [
  "image",
  "name",
  "hostname",
  "domainname",
  "tty",
  "stdinOpen",
  "stopSignal",
  "stopTimeout",
  "envs",
  "command",
  "entrypoints",
  "user",
  "workingDir",
  "hosts",
  "ulimits",
  "volumes",
  "labels",
  "healthcheck",
  "mounts",
  "privileged",
  "restart",
  "maxRetryCount",
  "runtime",
  "rm",
  "readOnly",
  "logDriver",
  "logOpts",
  "tmpfs",
  "capabilities",
  "dns",
  "dnsOpts",
  "dnsSearches",
  "securityOpts",
  "memory",
  "memoryReservation",
  "memorySwap",
  "shmSize",
  "cpus",
  "cpuPeriod",
  "cpuQuota",
  "cpuShares",
  "cpuSet",
  "networkMode",
  "usernsMode",
  "pidMode",
  "sysctls",
  "ipcMode",
  "groupAdds",
  "cgroupnsMode",
  "cgroupParent",
  "init",
  "storageOpts",
  "networksAdvanced",
  "start",
  "wait",
  "waitTimeout",
  "mustRun",
  "destroyGraceSeconds",
  "attach",
  "logs",
  "removeVolumes",
  "containerReadRefreshTimeoutMilliseconds",
] as const;

const MOUNT_FIELDS = ["type", "target", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"];
const HEALTHCHECK_FIELDS = ["tests", "interval", "timeout", "startPeriod", "startInterval", "retries"];
const NETWORK_FIELDS = ["name", "aliases", "ipv4Address", "ipv6Address", "linkLocalIps", "macAddress", "driverOpts", "gwPriority"];
const VOLUME_FIELDS = ["containerPath", "hostPath", "volumeName", "readOnly", "fromContainer"];

/** Terraform's GetOk: false for absent and for the type's zero value. */
function given(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function strings(value: unknown): string[] {
  return (value ?? []) as string[];
}

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** One `networks_advanced` entry: the endpoint the provider connects after create. */
export interface NetworkAttachment {
  readonly network: string;
  readonly endpoint: Docker.EndpointSettings;
}

export interface ContainerSpec {
  readonly create: Docker.ContainerCreateOptions;
  readonly networks: NetworkAttachment[];
}

function healthcheckConfig(raw: Inputs): Docker.HealthConfig {
  rejectUnmapped("healthcheck", raw, HEALTHCHECK_FIELDS);
  const duration = (key: string) => parseGoDuration(`healthcheck.${key}`, String(raw[key] ?? "0s"));
  const health: Docker.HealthConfig & { StartInterval?: number } = {
    Test: strings(raw.tests),
    Interval: duration("interval"),
    Timeout: duration("timeout"),
    StartPeriod: duration("startPeriod"),
    StartInterval: duration("startInterval"),
    Retries: Number(raw.retries ?? 0),
  };
  return health;
}

function mountConfig(raw: Inputs, apiVersion: string): Docker.MountSettings {
  rejectUnmapped("mounts[]", raw, MOUNT_FIELDS);
  const mount: Docker.MountSettings = {
    Type: raw.type as Docker.MountType,
    Target: String(raw.target),
    Source: String(raw.source ?? ""),
    ReadOnly: raw.readOnly === true,
  };
  if (raw.type === "bind" && raw.bindOptions && (raw.bindOptions as Inputs).propagation) {
    mount.BindOptions = { Propagation: (raw.bindOptions as Inputs).propagation as Docker.MountPropagation };
  } else if (raw.type === "volume" && raw.volumeOptions) {
    // The provider reads volume_options.subpath unconditionally and refuses any volume_options block when the
    // negotiated API is older than 1.45 (Docker 26), so on this 20.10 engine every volumeOptions fails.
    if (apiVersion < "1.45") {
      throw new Error("Setting VolumeOptions.Subpath requires docker version 1.45 or higher");
    }
    const options = raw.volumeOptions as Inputs;
    mount.VolumeOptions = {
      NoCopy: options.noCopy === true,
      Labels: labelMap(options.labels),
      ...(options.driverName || options.driverOptions
        ? { DriverConfig: { Name: String(options.driverName ?? ""), Options: stringMap(options.driverOptions) } }
        : {}),
      ...(options.subpath ? { Subpath: String(options.subpath) } : {}),
    } as Docker.MountSettings["VolumeOptions"];
  } else if (raw.type === "tmpfs" && raw.tmpfsOptions) {
    const options = raw.tmpfsOptions as Inputs;
    // `mode` goes through os.FileMode(int) as given: 1777 decimal is not 01777 octal.
    mount.TmpfsOptions = { SizeBytes: Number(options.sizeBytes ?? 0), Mode: Number(options.mode ?? 0) };
  }
  return mount;
}

/** `volumes` entries: volumeSetToDockerVolumes (bind strings "src:dst:rw|ro", anonymous volumes, volumes-from). */
function legacyVolumes(raw: Inputs[]): { volumes: Record<string, object>; binds: string[]; from: string[] } {
  const result = { volumes: {} as Record<string, object>, binds: [] as string[], from: [] as string[] };
  for (const entry of raw) {
    rejectUnmapped("volumes[]", entry, VOLUME_FIELDS);
    const containerPath = String(entry.containerPath ?? "");
    const source = String(entry.hostPath || entry.volumeName || "");
    if (entry.fromContainer && containerPath) throw new Error("both a container and a path specified in a volume entry");
    if (entry.fromContainer) result.from.push(String(entry.fromContainer));
    else if (!containerPath) throw new Error("volume entry without container path or source container");
    else {
      result.volumes[containerPath] = {};
      if (source) result.binds.push(`${source}:${containerPath}:${entry.readOnly ? "ro" : "rw"}`);
    }
  }
  return result;
}

function networkAttachment(raw: Inputs): NetworkAttachment {
  rejectUnmapped("networksAdvanced[]", raw, NETWORK_FIELDS);
  if (given(raw.driverOpts) || given(raw.gwPriority)) {
    throw new Error("harness does not map networksAdvanced[].driverOpts/gwPriority (Docker API 1.48+ only)");
  }
  const endpoint: Docker.EndpointSettings = {
    Aliases: strings(raw.aliases),
    IPAMConfig: {
      IPv4Address: String(raw.ipv4Address ?? ""),
      IPv6Address: String(raw.ipv6Address ?? ""),
      LinkLocalIPs: strings(raw.linkLocalIps),
    },
    ...(raw.macAddress ? { MacAddress: String(raw.macAddress) } : {}),
  };
  return { network: String(raw.name), endpoint };
}

/** Config + HostConfig exactly as the provider sends them to ContainerCreate, plus the networks it connects after. */
export function containerSpec(inputs: Inputs, name: string, apiVersion: string): ContainerSpec {
  rejectUnmapped("container", inputs, CONTAINER_FIELDS);
  const command = strings(inputs.command);
  if (command.some((part) => part === "")) throw new Error("values for command may not be empty");

  const legacy = legacyVolumes((inputs.volumes ?? []) as Inputs[]);
  const securityOpts = strings(inputs.securityOpts);
  // parseSystemPaths: "systempaths=unconfined" is handled client-side by clearing masked/read-only paths.
  const unconfinedPaths = securityOpts.includes("systempaths=unconfined");
  const capabilities = (inputs.capabilities ?? {}) as Inputs;
  const hostConfig: Docker.HostConfig & Record<string, unknown> = {
    Privileged: inputs.privileged === true,
    PublishAllPorts: false,
    RestartPolicy: { Name: String(inputs.restart ?? "no"), MaximumRetryCount: Number(inputs.maxRetryCount ?? 0) },
    Runtime: String(inputs.runtime ?? ""),
    Mounts: ((inputs.mounts ?? []) as Inputs[]).map((m) => mountConfig(m, apiVersion)),
    AutoRemove: inputs.rm === true,
    ReadonlyRootfs: inputs.readOnly === true,
    LogConfig: { Type: String(inputs.logDriver ?? ""), Config: given(inputs.logOpts) ? stringMap(inputs.logOpts) : {} },
    NetworkMode: String(inputs.networkMode || "bridge"),
    // init is always sent (a *bool from d.Get), so an unset init is an explicit false, not the daemon default.
    Init: inputs.init === true,
  };
  const optional: [boolean, () => Record<string, unknown>][] = [
    [given(inputs.tmpfs), () => ({ Tmpfs: stringMap(inputs.tmpfs) })],
    [given(inputs.hosts), () => ({ ExtraHosts: (inputs.hosts as Inputs[]).map((h) => `${h.host}:${h.ip}`) })],
    [legacy.binds.length > 0, () => ({ Binds: legacy.binds })],
    [legacy.from.length > 0, () => ({ VolumesFrom: legacy.from })],
    [
      given(inputs.ulimits),
      () => ({
        Ulimits: (inputs.ulimits as Inputs[]).map((u) => ({ Name: u.name, Soft: Number(u.soft), Hard: Number(u.hard) })),
      }),
    ],
    [given(inputs.capabilities), () => ({ CapAdd: strings(capabilities.adds), CapDrop: strings(capabilities.drops) })],
    [given(inputs.dns), () => ({ Dns: strings(inputs.dns) })],
    [given(inputs.dnsOpts), () => ({ DnsOptions: strings(inputs.dnsOpts) })],
    [given(inputs.dnsSearches), () => ({ DnsSearch: strings(inputs.dnsSearches) })],
    [
      given(inputs.securityOpts),
      () => ({
        SecurityOpt: securityOpts.filter((o) => o !== "systempaths=unconfined"),
        ...(unconfinedPaths ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
      }),
    ],
    [given(inputs.memory), () => ({ Memory: Number(inputs.memory) * MB })],
    [given(inputs.memoryReservation), () => ({ MemoryReservation: Number(inputs.memoryReservation) * MB })],
    // memory_swap: MB when positive; -1 (unlimited) passes through unchanged.
    [given(inputs.memorySwap), () => ({ MemorySwap: Number(inputs.memorySwap) > 0 ? Number(inputs.memorySwap) * MB : Number(inputs.memorySwap) })],
    [given(inputs.shmSize), () => ({ ShmSize: Number(inputs.shmSize) * MB })],
    // cpus wins over cpu_period/cpu_quota, which the provider then ignores with a warning.
    [given(inputs.cpus), () => ({ NanoCpus: parseCpus(String(inputs.cpus)) })],
    [!given(inputs.cpus) && given(inputs.cpuPeriod), () => ({ CpuPeriod: Number(inputs.cpuPeriod) })],
    [!given(inputs.cpus) && given(inputs.cpuQuota), () => ({ CpuQuota: Number(inputs.cpuQuota) })],
    [given(inputs.cpuShares), () => ({ CpuShares: Number(inputs.cpuShares) })],
    [given(inputs.cpuSet), () => ({ CpusetCpus: String(inputs.cpuSet) })],
    [given(inputs.usernsMode), () => ({ UsernsMode: String(inputs.usernsMode) })],
    [given(inputs.pidMode), () => ({ PidMode: String(inputs.pidMode) })],
    [given(inputs.sysctls), () => ({ Sysctls: stringMap(inputs.sysctls) })],
    [given(inputs.ipcMode), () => ({ IpcMode: String(inputs.ipcMode) })],
    [given(inputs.groupAdds), () => ({ GroupAdd: strings(inputs.groupAdds) })],
    [given(inputs.cgroupnsMode), () => ({ CgroupnsMode: String(inputs.cgroupnsMode) })],
    [given(inputs.cgroupParent), () => ({ CgroupParent: String(inputs.cgroupParent) })],
    [given(inputs.storageOpts), () => ({ StorageOpt: stringMap(inputs.storageOpts) })],
  ];
  for (const [isSet, fields] of optional) if (isSet) Object.assign(hostConfig, fields());

  const create: Docker.ContainerCreateOptions & Record<string, unknown> = {
    name,
    Image: String(inputs.image),
    Hostname: String(inputs.hostname ?? ""),
    Domainname: String(inputs.domainname ?? ""),
    Tty: inputs.tty === true,
    OpenStdin: inputs.stdinOpen === true,
    StopSignal: String(inputs.stopSignal ?? ""),
    ...(given(inputs.stopTimeout) ? { StopTimeout: Number(inputs.stopTimeout) } : {}),
    ...(given(inputs.envs) ? { Env: strings(inputs.envs) } : {}),
    ...(given(inputs.command) ? { Cmd: command } : {}),
    ...(given(inputs.entrypoints) ? { Entrypoint: strings(inputs.entrypoints) } : {}),
    ...(given(inputs.user) ? { User: String(inputs.user) } : {}),
    ...(given(inputs.workingDir) ? { WorkingDir: String(inputs.workingDir) } : {}),
    ...(Object.keys(legacy.volumes).length > 0 ? { Volumes: legacy.volumes } : {}),
    ...(given(inputs.labels) ? { Labels: labelMap(inputs.labels) } : {}),
    ...(inputs.healthcheck ? { Healthcheck: healthcheckConfig(inputs.healthcheck as Inputs) } : {}),
    HostConfig: hostConfig,
  };
  const networks = ((inputs.networksAdvanced ?? []) as Inputs[]).map(networkAttachment);
  return { create, networks };
}
