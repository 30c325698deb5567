/**
 * agent-sandbox as a library: the AgentSandboxes component and its argument and output types. A
 * TypeScript program imports it from "agent-sandbox"; other languages get an SDK from
 * `pulumi package add` (PulumiPlugin.yaml hosts this module's components).
 */

export { type AgentImageInfo, AgentSandboxes, type RunInfo, type SandboxInfo } from "./agent-sandboxes";
export { Agent } from "./agents";
export type * from "./config/args";
export type * from "./egress/args";
export { EgressMode } from "./egress/config";
export type * from "./engine/args";
export type * from "./image/args";
export { BuildCacheType, Platform } from "./image/config";
export type * from "./runs/args";
export type * from "./sandbox/args";
export { RestartPolicy, SandboxMode } from "./sandbox/config";
export { UnsafeSetting } from "./sandbox/unsafe-settings";
export { ConfigError } from "./values/config-error";
