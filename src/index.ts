/**
 * agent-sandbox as a library: the AgentSandboxes component and its argument and output types. A
 * TypeScript program imports it from "agent-sandbox"; other languages get an SDK from
 * `pulumi package add` (PulumiPlugin.yaml hosts this module's components).
 */
export { Agent } from "./agents";
export { AgentSandboxes, type AgentImageInfo, type RunInfo, type SandboxInfo } from "./agent-sandboxes";
export type * from "./config/args";
export { BuildCacheType, EgressMode, Platform, RestartPolicy, SandboxMode } from "./config/choices";
export { ConfigError } from "./config/errors";
export { UnsafeSetting } from "./config/unsafe-settings";
