import { describe, expect, it } from "vitest";
import { sandboxTopology, type TopologySettings } from "../../components/sandbox/topology";

const settings = (extra: Partial<TopologySettings> & { mode?: TopologySettings["egress"]["mode"]; gitRepos?: unknown[] } = {}): TopologySettings => ({
  hostNetwork: extra.hostNetwork ?? false,
  auth: extra.auth ?? "proxy",
  egress: { mode: extra.mode ?? "allowlist", gitRepos: extra.gitRepos ?? [] },
});

describe("a sandbox's network topology", () => {
  it.each([
    [
      "allowlist under auth proxy",
      settings(),
      { network: "allowlist", ownNetwork: true, egressProxy: true, credentialProxy: true, agentApiThroughProxy: true },
    ],
    [
      "allowlist, subscription",
      settings({ auth: "subscription" }),
      { network: "allowlist", egressProxy: true, credentialProxy: false, agentApiThroughProxy: false },
    ],
    ["subscription with listed repositories", settings({ auth: "subscription", gitRepos: ["r"] }), { credentialProxy: true, agentApiThroughProxy: false }],
    ["open egress", settings({ mode: "open" }), { network: "open", ownNetwork: true, egressProxy: false, credentialProxy: true }],
    ["no network", settings({ mode: "none", gitRepos: ["r"] }), { network: "none", ownNetwork: false, egressProxy: false, credentialProxy: false }],
    ["the host network", settings({ hostNetwork: true, mode: "open" }), { network: "host", ownNetwork: false, egressProxy: false, credentialProxy: false }],
  ])("%s", (_, given, expected) => {
    expect(sandboxTopology(given)).toMatchObject(expected);
  });

  it("never gives a proxy to a sandbox without a network of its own to reach it on", () => {
    for (const mode of ["allowlist", "open", "none"] as const)
      for (const hostNetwork of [true, false])
        for (const auth of ["proxy", "subscription"] as const)
          for (const gitRepos of [[], ["r"]]) {
            const topology = sandboxTopology(settings({ mode, hostNetwork, auth, gitRepos }));
            if (!topology.ownNetwork) expect(topology.egressProxy || topology.credentialProxy).toBe(false);
          }
  });
});
