/**
 * What the sandbox container and the agent image agree on: the paths the program mounts inside it and
 * the variables it sets there for the image's scripts (docker/agent/bin). The config refuses extra mounts
 * and env entries that would collide with them.
 */
import { SECRETS_PATH } from "../guardrails/host-paths";

export const WORKSPACE_PATH = "/workspace";
export const AGENT_HOME = "/home/agent";
export const TMP_PATH = "/tmp";
/** In clone mode, where the host repository is mounted read-only for the sandbox's own clone to start from. */
export const HOST_REPOSITORY_PATH = "/host-repository";
/** Read by agent-healthcheck: the sandbox turns unhealthy when a disk it writes is fuller than this. */
export const MAX_DISK_PERCENT_ENV = "AGENT_HEALTH_MAX_DISK_PCT";

/** Where the program mounts the sandbox's own folders, each with what it is, for messages. */
export const OWN_MOUNT_TARGETS: Record<string, string> = {
  [WORKSPACE_PATH]: "the workspace",
  [AGENT_HOME]: "the agent's home volume",
  [SECRETS_PATH]: "the credentials volume",
  [TMP_PATH]: "the sandbox's tmpfs",
  [HOST_REPOSITORY_PATH]: "the host repository in clone mode",
};
