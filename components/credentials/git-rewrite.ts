/** How git inside a sandbox finds its credential proxy for the listed repositories (`egress.gitRepos`). */

/**
 * Git configuration through the environment (git 2.31+ reads GIT_CONFIG_COUNT/KEY_n/VALUE_n): every
 * `https://` remote goes to the credential proxy's git port as `http://<proxy>/<host>/<path>`, so a listed
 * repository is fetched and pushed there and any other is refused there with the name of the key to change.
 * Prompts are off: the token is the proxy's, and no answer typed inside the sandbox could replace it.
 */
export function gitThroughProxyEnvironment(proxyGitUrl: string): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `url.${proxyGitUrl}/.insteadOf`,
    GIT_CONFIG_VALUE_0: "https://",
    GIT_TERMINAL_PROMPT: "0",
  };
}

/** The environment with one more git configuration entry after those it already has (GIT_CONFIG_COUNT). */
export function withGitConfigEntry(env: Record<string, string>, key: string, value: string): Record<string, string> {
  const count = Number(env.GIT_CONFIG_COUNT ?? "0");
  return { ...env, GIT_CONFIG_COUNT: String(count + 1), [`GIT_CONFIG_KEY_${count}`]: key, [`GIT_CONFIG_VALUE_${count}`]: value };
}
