/**
 * agent-sandbox as a library: the AgentSandboxes component and its argument and output types. A
 * TypeScript program imports it from "agent-sandbox"; other languages get an SDK from
 * `pulumi package add` (PulumiPlugin.yaml hosts this module's components).
 */

export { type AgentImageInfo, AgentSandboxes, type RunInfo, type SandboxInfo } from "./agent-sandboxes";
export { Agent } from "./agents";
export type * from "./config/args";
export { BuildCacheType, EgressMode, Platform, RestartPolicy, SandboxMode } from "./config/choices";
export { ConfigError } from "./config/errors";
export { UnsafeSetting } from "./config/unsafe-settings";
