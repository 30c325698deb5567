/**
 * The second engine `scripts/setup-engine.sh --remote` prepares (scripts/remote-engine.sh): a dockerd in a
 * network namespace of its own, reached only over ssh on loopback. A suite makes its own client key,
 * authorizes it for the engine's user, records the engine's host key in a known_hosts of its own, and gives
 * the clients (the docker CLI of the providers and scripts, run by the Pulumi CLI) an `ssh` on PATH that
 * reads the suite's ssh config: OpenSSH reads `~/.ssh` from the password database, not from HOME, so a
 * test cannot hand it a config of its own any other way without writing into root's. The config checks
 * the host key strictly. Ports of the suite's host services are bridged into the engine's namespace.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Docker from "dockerode";
import type { TestContext } from "vitest";

const NAMESPACE = "agent-sandbox-remote";
const SOCKET = "/run/agent-sandbox-remote/docker.sock";
const USER = "agent-sandbox-remote";
const SSH_PORT = 2722;
const AUTHORIZED_KEYS = `/home/${USER}/.ssh/authorized_keys`;

/** The engine's address as a stack's `docker.host` names it. */
export const REMOTE_HOST = `ssh://${USER}@127.0.0.1:${SSH_PORT}`;

/** The remote engine as the test itself inspects it: its socket on this machine, never through the stack's ssh. */
export const remoteEngine = new Docker({ socketPath: SOCKET });

/** The docker CLI on the remote engine's socket; a failure throws with its stderr. */
export function remoteDocker(...args: string[]): string {
  const result = spawnSync("docker", ["-H", `unix://${SOCKET}`, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`docker -H unix://${SOCKET} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Whether setup-engine.sh --remote prepared the engine. Without it the suite skips with the reason, except
 * under REQUIRE_REMOTE_ENGINE=1 (set by .ci/run once that setup succeeded), where its absence fails.
 */
export class RemoteEngineGate {
  private availability = { available: false, reason: "not checked yet" };

  async ready(): Promise<boolean> {
    try {
      await remoteEngine.ping();
      this.availability = { available: true, reason: "" };
    } catch (error) {
      const reason = `no remote engine at ${SOCKET} (${(error as Error).message}); run scripts/setup-engine.sh --remote as root`;
      if (process.env.REQUIRE_REMOTE_ENGINE === "1") throw new Error(`REQUIRE_REMOTE_ENGINE=1 but ${reason}`);
      console.warn(`[live] skipped: ${reason}`);
      this.availability = { available: false, reason };
    }
    return this.availability.available;
  }

  /** In a test: skips without the remote engine. */
  requireRemote(context: TestContext): void {
    if (!this.availability.available) context.skip(this.availability.reason);
  }
}

function check(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Writes an `ssh` into `dir/bin` that reads an ssh config of its own: the suite's key, `knownHosts`, strict
 * host key checking, no questions. Returns a PATH with it first.
 */
function sshShim(dir: string, key: string, knownHosts: string): string {
  const config = path.join(dir, "ssh_config");
  const lines = [
    "Host 127.0.0.1",
    `  IdentityFile ${key}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${knownHosts}`,
    "  StrictHostKeyChecking yes",
    "  BatchMode yes",
  ];
  fs.writeFileSync(config, `${lines.join("\n")}\n`);
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  const ssh = check("sh", ["-c", "command -v ssh"]).trim();
  fs.writeFileSync(path.join(dir, "bin", "ssh"), `#!/bin/sh\nexec ${ssh} -F ${config} "$@"\n`, { mode: 0o755 });
  return `${path.join(dir, "bin")}:${process.env.PATH}`;
}

/** A suite's client of the remote engine: its key, known_hosts, ssh config and bridges; `close` takes them all back. */
export class RemoteClient {
  private readonly bridges: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    private readonly keyLine: string,
    /** PATH with the suite's `ssh` first: it knows the engine's host key. */
    readonly path: string,
    /** PATH with an `ssh` that has the same key but has never seen the engine's host key. */
    readonly pathWithoutHostKey: string,
  ) {}

  /** Makes the key and authorizes it, scans the host key into the suite's known_hosts, writes the ssh configs and `ssh` shims. */
  static create(): RemoteClient {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-remote-client-"));
    const key = path.join(dir, "id_ed25519");
    check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `agent-sandbox-live-${process.pid}`, "-f", key]);
    const keyLine = fs.readFileSync(`${key}.pub`, "utf8").trim();
    fs.appendFileSync(AUTHORIZED_KEYS, `${keyLine}\n`);
    const scanned = check("ssh-keyscan", ["-p", String(SSH_PORT), "-t", "ed25519", "127.0.0.1"]);
    if (!scanned.trim()) throw new Error(`ssh-keyscan found no host key on 127.0.0.1:${SSH_PORT}`);
    const [known, stranger] = [path.join(dir, "known"), path.join(dir, "stranger")];
    fs.mkdirSync(known);
    fs.mkdirSync(stranger);
    fs.writeFileSync(path.join(known, "known_hosts"), scanned);
    fs.writeFileSync(path.join(stranger, "known_hosts"), "");
    return new RemoteClient(dir, keyLine, sshShim(known, key, path.join(known, "known_hosts")), sshShim(stranger, key, path.join(stranger, "known_hosts")));
  }

  /**
   * Makes a host service on 127.0.0.1:`port` reachable inside the engine's namespace on every address of it
   * (the engine's bridges included, where its containers find their host), through a unix socket.
   */
  async bridgePort(port: number): Promise<void> {
    const socket = path.join(this.dir, `port-${port}.sock`);
    this.bridges.push(spawn("socat", [`UNIX-LISTEN:${socket},fork,mode=0600`, `TCP:127.0.0.1:${port}`], { stdio: "ignore" }));
    for (let i = 0; i < 40 && !fs.existsSync(socket); i++) await new Promise((done) => setTimeout(done, 50));
    this.bridges.push(
      spawn("nsenter", [`--net=/run/netns/${NAMESPACE}`, "socat", `TCP-LISTEN:${port},fork,reuseaddr`, `UNIX-CONNECT:${socket}`], { stdio: "ignore" }),
    );
    for (let i = 0; i < 40; i++) {
      const probe = spawnSync("nsenter", [`--net=/run/netns/${NAMESPACE}`, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
      if (probe.status === 0) return;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`port ${port} did not answer inside the network namespace ${NAMESPACE}`);
  }

  /** Stops the bridges, takes the key's authorization back and removes the suite's files. */
  close(): void {
    for (const bridge of this.bridges) bridge.kill();
    const kept = fs
      .readFileSync(AUTHORIZED_KEYS, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== this.keyLine);
    fs.writeFileSync(AUTHORIZED_KEYS, kept.join("\n"));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
