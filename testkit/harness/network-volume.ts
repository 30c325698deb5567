import { engine, isNotFound, type Tracked } from "./state";
import { autoName, type Inputs, labelMap, rejectUnmapped } from "./values";

const NETWORK_FIELDS = ["name", "driver", "internal", "options", "labels", "attachable", "ingress", "ipv6", "ipamDriver", "ipamConfigs", "ipamOptions"];
const IPAM_FIELDS = ["subnet", "ipRange", "gateway", "auxAddress"];

/** resourceDockerNetworkCreate: only fields that are set (GetOk) reach NetworkCreate. */
export async function realizeNetwork(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("network", inputs, NETWORK_FIELDS);
  const physicalName = String(inputs.name ?? autoName(name));
  const ipamConfigs = (inputs.ipamConfigs ?? []) as Inputs[];
  for (const config of ipamConfigs) rejectUnmapped("network.ipamConfigs[]", config, IPAM_FIELDS);
  const ipamSet = Boolean(inputs.ipamDriver) || ipamConfigs.length > 0 || Boolean(inputs.ipamOptions);
  const network = await engine
    .createNetwork({
      Name: physicalName,
      ...(inputs.labels ? { Labels: labelMap(inputs.labels) } : {}),
      ...(inputs.driver ? { Driver: String(inputs.driver) } : {}),
      ...(inputs.options ? { Options: inputs.options as Record<string, string> } : {}),
      Internal: inputs.internal === true,
      Attachable: inputs.attachable === true,
      Ingress: inputs.ingress === true,
      ...(inputs.ipv6 ? { EnableIPv6: true } : {}),
      ...(ipamSet
        ? {
            IPAM: {
              Driver: String(inputs.ipamDriver ?? ""),
              Config: ipamConfigs.map((c) => ({
                Subnet: String(c.subnet ?? ""),
                IPRange: String(c.ipRange ?? ""),
                Gateway: String(c.gateway ?? ""),
                AuxiliaryAddresses: (c.auxAddress ?? {}) as Record<string, string>,
              })),
              Options: (inputs.ipamOptions ?? {}) as Record<string, string>,
            },
          }
        : {}),
    })
    .catch((error: Error) => {
      throw new Error(`Unable to create network: ${error.message}`);
    });
  const info = await network.inspect();
  return {
    type: "docker:index/network:Network",
    name,
    kind: "network",
    id: info.Id,
    inputs,
    outputs: { ...inputs, id: info.Id, name: physicalName, driver: info.Driver, scope: info.Scope, internal: info.Internal },
    destroy: () => network.remove().catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
    exists: () =>
      network.inspect().then(
        () => true,
        (e) => (isNotFound(e) ? false : Promise.reject(e)),
      ),
  };
}

/** resourceDockerVolumeCreate. The provider's id is the volume name. Creating an existing name returns it. */
export async function realizeVolume(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("volume", inputs, ["name", "driver", "driverOpts", "labels"]);
  const physicalName = String(inputs.name ?? autoName(name));
  await engine
    .createVolume({
      Name: physicalName,
      ...(inputs.labels ? { Labels: labelMap(inputs.labels) } : {}),
      ...(inputs.driver ? { Driver: String(inputs.driver) } : {}),
      ...(inputs.driverOpts ? { DriverOpts: inputs.driverOpts as Record<string, string> } : {}),
    })
    .catch((error: Error) => {
      throw new Error(`Unable to create volume: ${error.message}`);
    });
  const volume = engine.getVolume(physicalName);
  const info = await volume.inspect();
  return {
    type: "docker:index/volume:Volume",
    name,
    kind: "volume",
    id: info.Name,
    inputs,
    outputs: { ...inputs, id: info.Name, name: info.Name, driver: info.Driver, mountpoint: info.Mountpoint },
    destroy: () => volume.remove().catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
    exists: () =>
      volume.inspect().then(
        () => true,
        (e) => (isNotFound(e) ? false : Promise.reject(e)),
      ),
  };
}

/** docker.getNetwork invoke (data_source_docker_network.go): look the network up by name or id. */
export async function getNetwork(inputs: Inputs): Promise<Inputs> {
  const info = await engine
    .getNetwork(String(inputs.name))
    .inspect()
    .catch((error: Error) => {
      throw new Error(`Could not find docker network: ${error.message}`);
    });
  return {
    id: info.Id,
    name: info.Name,
    driver: info.Driver,
    internal: info.Internal,
    scope: info.Scope,
    options: info.Options ?? {},
    ipamConfigs: (info.IPAM?.Config ?? []).map((c: Record<string, unknown>) => ({
      subnet: c.Subnet ?? "",
      gateway: c.Gateway ?? "",
      ipRange: c.IPRange ?? "",
      auxAddress: c.AuxiliaryAddresses ?? {},
    })),
  };
}
