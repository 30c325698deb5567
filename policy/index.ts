import { PolicyPack } from "@pulumi/policy";
import { hardeningPolicies, stackPolicies } from "./policies";

new PolicyPack("agent-sandbox-hardening", {
  description: "Refuses Docker sandbox containers that weaken the agent-sandbox hardening (see rules.ts).",
  enforcementLevel: "mandatory",
  policies: [...hardeningPolicies, ...stackPolicies],
});
