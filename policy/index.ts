import { PolicyPack } from "@pulumi/policy";
import { hardeningPolicies, stackPolicies } from "./policies";

new PolicyPack("agent-sandbox-hardening", {
  description: "Refuses sandbox containers (Docker containers, Kubernetes workloads) that weaken the agent-sandbox hardening (see rules.ts).",
  enforcementLevel: "mandatory",
  policies: [...hardeningPolicies, ...stackPolicies],
});
