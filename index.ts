/**
 * The agent-sandbox program: the stack's config, as the arguments of one AgentSandboxes component, and
 * its outputs as the stack's.
 */
import { AgentSandboxes } from "./components/agent-sandboxes";
import { stackArgs } from "./components/config/stack-config";
import { applyStackTraceLimit } from "./components/stack-traces";

applyStackTraceLimit();

const sandboxes = new AgentSandboxes("agent-sandbox", stackArgs());

export const agentImage = sandboxes.agentImage;
export const sandboxOutputs = sandboxes.sandboxes;
export const runOutputs = sandboxes.runs;
