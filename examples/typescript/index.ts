/**
 * A team's own program using agent-sandbox as one component: a read-only review sandbox on the team's
 * repository, its egress allowing the team's package mirror, and the API key from the stack's secrets.
 *
 *   pulumi config set workspace /srv/checkouts/payments
 *   pulumi config set --secret anthropicApiKey <key>
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { AgentSandboxes, SandboxMode } from "agent-sandbox";

const config = new pulumi.Config();

const agents = new AgentSandboxes("review-agents", {
  sandboxes: [
    {
      name: "review",
      workspace: config.require("workspace"),
      mode: SandboxMode.ReadOnly,
      resources: { cpus: 2, memory: "4g" },
      egress: { allow: ["registry.example.com"] },
    },
  ],
  anthropicApiKey: config.requireSecret("anthropicApiKey"),
});

export const reviewShell = agents.sandboxes.apply((sandboxes) => sandboxes.review.shell);
export const agentImage = agents.agentImage.ref;
