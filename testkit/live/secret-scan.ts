/**
 * The held-out scan of a sandbox for secrets: every file (but /proc, /sys and /dev), every process's environ
 * and cmdline, and the mount table, searched for each secret. The secrets arrive on the scan's stdin, one per
 * line, so no process of the sandbox has them in its command line or environment and no file holds them:
 * the script keeps them in a shell variable and hands them to grep through a pipe from printf (a builtin).
 */
import { spawn } from "node:child_process";

const SCAN = String.raw`
secrets=$(cat)
[ -n "$secrets" ] || { echo "no secrets on stdin"; exit 2; }
pat() { printf '%s\n' "$secrets"; }
for top in /* /.[!.]*; do
  case "$top" in /proc|/sys|/dev|'/.[!.]*') continue ;; esac
  [ -e "$top" ] || continue
  pat | grep -rlsaF -D skip -f - "$top" | sed 's/^/LEAK file /'
done
environ=0; cmdline=0
for file in /proc/[0-9]*/environ /proc/[0-9]*/cmdline /proc/self/mountinfo; do
  cat "$file" >/dev/null 2>&1 || continue
  case "$file" in */environ) environ=$((environ + 1)) ;; */cmdline) cmdline=$((cmdline + 1)) ;; esac
  if pat | grep -qaF -f - "$file" 2>/dev/null; then echo "LEAK $file"; fi
done
echo "scanned environ=$environ cmdline=$cmdline"
`;

export interface SecretScan {
  /** `LEAK <where>` for each place a secret was found: empty is the only good answer. */
  readonly leaks: string[];
  /** How many process environments and command lines the scan could read (it must have seen some). */
  readonly environ: number;
  readonly cmdline: number;
  /** The scan's whole output, for a failure message. */
  readonly output: string;
}

/** Scans `container` as `user` for any of `secrets`. */
export function scanForSecrets(container: string, user: string, secrets: readonly string[], timeoutMs = 5 * 60_000): Promise<SecretScan> {
  return scanThrough(["docker", "exec", "-i", "-u", user, container], secrets, timeoutMs);
}

/** Scans through a command that runs its arguments inside the sandbox with stdin attached (`kubectl exec -i pod --`). */
export function scanThrough(exec: readonly string[], secrets: readonly string[], timeoutMs = 5 * 60_000): Promise<SecretScan> {
  return new Promise((resolve, reject) => {
    const child = spawn(exec[0], [...exec.slice(1), "sh", "-c", SCAN], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      const scanned = /scanned environ=(\d+) cmdline=(\d+)/.exec(output);
      resolve({
        leaks: output.split("\n").filter((line) => line.startsWith("LEAK ")),
        environ: Number(scanned?.[1] ?? 0),
        cmdline: Number(scanned?.[2] ?? 0),
        output,
      });
    });
    child.stdin.end(`${secrets.join("\n")}\n`);
  });
}
