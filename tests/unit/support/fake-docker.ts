/**
 * Runs a generated shell script the way @pulumi/command does (sh -c, stdin, the provider's environment
 * plus `environment`) with a stand-in `docker` on PATH that records its arguments, environment and stdin.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface FakeDockerRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Of the main call (the last one unless `main` picks another). */
  args(): string[];
  env(): string;
  stdin(): string;
  /** Every call's arguments, in order. */
  calls(): string[][];
}

export function runWithFakeDocker(
  script: string,
  options: { stdin?: string; env?: Record<string, string>; dockerExit?: number; dockerStdout?: string; main?: (args: string[]) => boolean },
): FakeDockerRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
  const record = path.join(dir, "record");
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
n=$(ls "${dir}" | grep -c '\\.args$')
printf '%s\\n' "$@" > "${record}.$n.args"
env > "${record}.$n.env"
cat > "${record}.$n.stdin"
cat "${record}.stdout-fixture" 2>/dev/null
echo "docker: stderr line" >&2
exit ${options.dockerExit ?? 0}
`,
    { mode: 0o755 },
  );
  if (options.dockerStdout) fs.writeFileSync(`${record}.stdout-fixture`, options.dockerStdout);
  const result = spawnSync("/bin/sh", ["-c", script], {
    input: options.stdin ?? "",
    // What the Pulumi CLI's environment may hold: none of it may reach docker.
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      HOME: os.homedir(),
      PULUMI_ACCESS_TOKEN: "pul-should-not-leak",
      AWS_SECRET_ACCESS_KEY: "aws-should-not-leak",
      ...options.env,
    },
    encoding: "utf8",
  });
  const count = fs.readdirSync(dir).filter((file) => file.endsWith(".args")).length;
  const calls = Array.from({ length: count }, (_, index) => fs.readFileSync(`${record}.${index}.args`, "utf8").trimEnd().split("\n"));
  const mainIndex = options.main ? calls.findIndex(options.main) : count - 1;
  const read = (suffix: string) => fs.readFileSync(`${record}.${mainIndex}.${suffix}`, "utf8");
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    args: () => read("args").trimEnd().split("\n"),
    env: () => read("env"),
    stdin: () => read("stdin"),
    calls: () => calls,
  };
}
