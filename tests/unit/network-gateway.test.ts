import { describe, expect, it } from "vitest";
import { gatewayOf, type NetworkFacts } from "../../testkit/live/network-gateway";

/** A host whose interfaces hold these IPv4 addresses. */
const host = (addresses: Record<string, string[]>) => (name: string) => addresses[name] ?? [];

/** The default bridge as a fresh Debian engine reports it: a subnet, no gateway. */
const defaultBridge: NetworkFacts = {
  Name: "bridge",
  Id: "4f1c0b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
  Options: { "com.docker.network.bridge.name": "docker0" },
  IPAM: { Config: [{ Subnet: "172.17.0.0/16" }] },
};

describe("the host's address on a Docker network", () => {
  it("is the IPAM gateway when the engine reports one", () => {
    const network = { ...defaultBridge, IPAM: { Config: [{ Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" }] } };
    expect(gatewayOf(network, host({ docker0: ["172.17.9.9"] }))).toBe("172.17.0.1");
  });

  it("skips an IPv6 gateway for the IPv4 one", () => {
    const network = {
      ...defaultBridge,
      IPAM: {
        Config: [
          { Subnet: "fd00::/64", Gateway: "fd00::1" },
          { Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" },
        ],
      },
    };
    expect(gatewayOf(network, host({}))).toBe("172.17.0.1");
  });

  it("is the address the host holds on the named bridge interface when IPAM has no gateway", () => {
    expect(gatewayOf(defaultBridge, host({ lo: ["127.0.0.1"], docker0: ["172.17.0.1"] }))).toBe("172.17.0.1");
  });

  it("reads a user network's bridge as br- and its ID's first 12 characters", () => {
    const network: NetworkFacts = { Name: "lab", Id: "0123456789abcdef0123", Options: {}, IPAM: { Config: [{ Subnet: "172.30.0.0/16" }] } };
    expect(gatewayOf(network, host({ docker0: ["172.17.0.1"], "br-0123456789ab": ["172.30.0.1"] }))).toBe("172.30.0.1");
  });

  it("throws, naming the network and bridge, when neither source has an address", () => {
    const network: NetworkFacts = { ...defaultBridge, Options: null, IPAM: null };
    expect(() => gatewayOf(network, host({ docker0: [] }))).toThrow(
      /network bridge has no IPAM gateway and the host holds no IPv4 address on its bridge br-4f1c0b2a9d8e/,
    );
  });
});
