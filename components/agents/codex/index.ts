/**
 * OpenAI's Codex CLI: its endpoints, its non-interactive invocation (`codex exec`), its environment and
 * the release the image pins. components/agents/codex/image/install-cli.sh installs it.
 *
 * Base URL and key: Codex 0.171 takes no base URL from the environment (OPENAI_BASE_URL support was removed
 * in openai/codex#16720; only config's `openai_base_url` or a model provider's `base_url` count), so the
 * image's `codex` is a wrapper that turns OPENAI_BASE_URL into a model provider whose `env_key` is
 * OPENAI_API_KEY. It wraps every `codex` command, so runs and a person's interactive `codex` reach the
 * credential proxy from the environment alone, with no config.toml in the home volume (checked for
 * `codex exec`; the interactive UI reads the same provider config). That provider speaks the Responses API over plain HTTPS: the built-in one
 * first tries a WebSocket, which the proxy does not forward. Requests are `POST <base>/responses` with
 * `Authorization: Bearer <key>` (the providers/openai key format); OPENAI_BASE_URL is the proxy's `/v1`.
 * Without the wrapper, `codex exec` reads its key from CODEX_API_KEY (not OPENAI_API_KEY) and sends it to
 * api.openai.com. Observed by running the CLI against testkit/live/fake-responses-api.ts (tests/fixtures/codex-stream/README.md).
 */
import type { AgentProfile, AgentRunRequest } from "../agent";
import { openai } from "../providers/openai";
import { parseCodexExec } from "./exec-jsonl";

/**
 * Codex's non-interactive invocation: the prompt comes from stdin (`-`), events as JSONL. Its own sandbox
 * (bubblewrap) and approval prompts are off because the container is the sandbox and nobody is there to
 * approve; --skip-git-repo-check lets it work in a workspace that is not a clone. `resume` appends to a
 * session, `fork` copies it into a new one (a new thread id). Analytics are off: config only, no variable.
 */
export function codexArguments(run: AgentRunRequest): string[] {
  const subcommand = run.resumeSessionId ? [run.forkSession ? "fork" : "resume"] : [];
  const session = run.resumeSessionId ? [run.resumeSessionId] : [];
  return [
    codex.executable,
    "exec",
    ...subcommand,
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
    "-c",
    "analytics.enabled=false",
    ...(run.model ? ["--model", run.model] : []),
    ...session,
    "-",
  ];
}

export const codex: AgentProfile = {
  name: "codex",
  executable: "codex",
  defaultVersion: "0.171.0",
  provider: openai,
  // A ChatGPT-plan login signs in at auth.openai.com and then sends its model requests to chatgpt.com's backend.
  signInEndpoints: ["auth.openai.com:443", "chatgpt.com:443"],
  api: {
    baseUrlEnv: "OPENAI_BASE_URL",
    // The wrapper's model provider posts to <base>/responses.
    baseUrlPath: "/v1",
    keyEnv: "OPENAI_API_KEY",
    // CODEX_API_KEY is what `codex exec` reads without the wrapper; CODEX_ACCESS_TOKEN logs in a ChatGPT identity.
    credentialEnv: ["OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_ACCESS_TOKEN"],
  },
  // No variable turns off Codex's update check or analytics: `codex exec` never checks for updates, and
  // analytics are switched off per run in codexArguments.
  envDefaults: {},
  // A project's .codex/ holds config Codex loads for that project (model providers, MCP servers, commands).
  protectedPaths: [".codex"],
  runOptions: ["model", "resume", "fork"],
  cliArguments: codexArguments,
  parseOutput: parseCodexExec,
};
