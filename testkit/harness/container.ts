import { containerSpec } from "./container-spec";
import { findImage } from "./images";
import { engine, engineApiVersion, isNotFound, type Tracked } from "./state";
import { autoName, type Inputs } from "./values";

const TYPE = "docker:index/container:Container";

/**
 * Creates, connects, starts and optionally waits for a container the way resourceDockerContainerCreate does.
 * `track` is called as soon as the container exists, so a failure later in create (start, wait) still leaves
 * it to teardown, as a failed `pulumi up` leaves the half-created resource in the state.
 */
export async function realizeContainer(name: string, inputs: Inputs, track: (t: Tracked) => void): Promise<Tracked> {
  const physicalName = String(inputs.name ?? autoName(name));
  const image = String(inputs.image ?? "");
  try {
    await findImage(image);
  } catch (error) {
    throw new Error(`Unable to create container with image ${image}: ${(error as Error).message}`);
  }
  const spec = containerSpec(inputs, physicalName, await engineApiVersion());
  const container = await engine.createContainer(spec.create).catch((error: Error) => {
    throw new Error(`Unable to create container: ${error.message}`);
  });
  const outputsOf = async (): Promise<Inputs> => {
    const info = await container.inspect();
    return {
      ...inputs,
      id: info.Id,
      name: info.Name.replace(/^\//, ""),
      bridge: (info.NetworkSettings as { Bridge?: string }).Bridge ?? "",
      networkDatas: Object.entries(info.NetworkSettings.Networks).map(([networkName, n]) => ({
        networkName,
        ipAddress: n.IPAddress,
        ipPrefixLength: n.IPPrefixLen,
        gateway: n.Gateway,
        macAddress: n.MacAddress,
        globalIpv6Address: n.GlobalIPv6Address,
        globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
        ipv6Gateway: n.IPv6Gateway,
      })),
    };
  };
  const tracked: Tracked = {
    type: TYPE,
    name,
    kind: "container",
    id: container.id,
    inputs,
    outputs: { ...inputs, id: container.id, name: physicalName },
    destroy: () => destroyContainer(container.id, inputs),
    exists: () =>
      container.inspect().then(
        () => true,
        (e) => (isNotFound(e) ? false : Promise.reject(e)),
      ),
  };
  track(tracked);

  if (spec.networks.length > 0) {
    // The container is created on network_mode (default "bridge"), then moved to networks_advanced.
    await engine
      .getNetwork("bridge")
      .disconnect({ Container: container.id })
      .catch((error: Error) => {
        if (!error.message.includes("is not connected to the network bridge")) {
          throw new Error(`Unable to disconnect the default network: ${error.message}`);
        }
      });
    for (const { network, endpoint } of spec.networks) {
      await engine
        .getNetwork(network)
        .connect({ Container: container.id, EndpointConfig: endpoint })
        .catch((error: Error) => {
          throw new Error(`Unable to connect to network '${network}': ${error.message}`);
        });
    }
  }

  let containerLogs: string | undefined;
  if (inputs.start !== false) {
    await container.start().catch((error: Error) => {
      throw new Error(`Unable to start container: ${error.message}`);
    });
    if (inputs.wait === true) await waitHealthy(container.id, Number(inputs.waitTimeout ?? 60));
  }
  if (inputs.attach === true) {
    await container.wait({ condition: "not-running" });
    if (inputs.logs === true) {
      const raw = await container.logs({ stdout: true, stderr: true, follow: false });
      containerLogs = demuxLogs(raw, inputs.tty === true);
    }
  }
  const outputs = { ...(await outputsOf()), ...(containerLogs === undefined ? {} : { containerLogs }) };
  return { ...tracked, outputs };
}

/**
 * The provider polls inspect once a second until Health.Status is "healthy" and fails with
 * "container failed to be in healthy state" at wait_timeout. It keeps polling while unhealthy (a check may
 * recover). The harness appends the last health log to that message so a failing test shows why.
 */
async function waitHealthy(id: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const state = (await engine.getContainer(id).inspect()).State;
    if (!state.Health) {
      throw new Error(
        "you have supplied a 'wait' argument, but the container does not have a healthcheck defined. " +
          "Please remove the 'wait' argument or add a 'healthcheck' attribute",
      );
    }
    if (state.Health.Status === "healthy") return;
    if (Date.now() >= deadline) {
      const log = state.Health.Log.map((entry) => `exit ${entry.ExitCode}: ${entry.Output.trim()}`).join("\n");
      throw new Error(
        `container failed to be in healthy state (after ${timeoutSeconds}s; status ${state.Health.Status}, ` +
          `running ${state.Running}, exit code ${state.ExitCode}; health log:\n${log || "(empty)"})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Engine log stream without TTY carries 8-byte frame headers (stdcopy); strip them. */
function demuxLogs(raw: Buffer, tty: boolean): string {
  if (tty) return raw.toString("utf8");
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/**
 * resourceDockerContainerDelete: stop with destroy_grace_seconds (0 when unset, i.e. an immediate kill),
 * force-remove with remove_volumes (default true: anonymous volumes go too), then wait for removal.
 */
async function destroyContainer(id: string, inputs: Inputs): Promise<void> {
  const container = engine.getContainer(id);
  const ignoreMissing = (error: unknown) => {
    if (!isNotFound(error) && !String((error as Error).message).includes("is already in progress")) throw error;
  };
  if (inputs.attach !== true) {
    await container.stop({ t: Number(inputs.destroyGraceSeconds ?? 0) }).catch((error) => {
      // 304: already stopped.
      if ((error as { statusCode?: number }).statusCode !== 304) ignoreMissing(error);
    });
  }
  await container.remove({ force: true, v: inputs.removeVolumes !== false }).catch(ignoreMissing);
  await container.wait({ condition: "removed" }).catch(ignoreMissing);
}
