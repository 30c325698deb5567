import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveArgs, withEnvironmentDockerHost } from "../../components/config/resolve-args";
import { DOCKER, PODMAN } from "../../components/engine/engine";
import {
  defaultEngineProbe,
  type EngineProbe,
  engineAddressOf,
  engineProblem,
  type ProbeTarget,
  probeCommand,
  probeTargetOf,
  realEngineProbe,
  SKIP_ENGINE_CHECK,
} from "../../components/engine/engine-check";
import { ConfigError } from "../../components/values/config-error";
import { makeWorkspace } from "./support/program";

const refused: EngineProbe = () => "connect ENOENT /nowhere.sock";
const answers: EngineProbe = () => undefined;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function scratchSocket(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-sock-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

async function listening(server: net.Server, where: string | number): Promise<void> {
  await new Promise<void>((resolve) => server.listen(where, resolve));
  cleanups.push(() => server.close());
}

describe("which engine address is checked", () => {
  it("takes docker.host first, then docker.engine's socket, then DOCKER_HOST, then the local socket, as the providers do", () => {
    expect(engineAddressOf({ host: "ssh://me@box" }, { DOCKER_HOST: "tcp://other:2375" })).toEqual({ url: "ssh://me@box", setting: "docker.host" });
    expect(engineAddressOf({ engine: "podman" }, { DOCKER_HOST: "tcp://other:2375" })).toEqual({ url: PODMAN.defaultHost, setting: "docker.engine" });
    expect(engineAddressOf({ engine: "docker" }, { DOCKER_HOST: "tcp://other:2375" })).toEqual({ url: "tcp://other:2375", setting: "DOCKER_HOST" });
    expect(engineAddressOf(undefined, { DOCKER_HOST: "tcp://other:2375" })).toEqual({ url: "tcp://other:2375", setting: "DOCKER_HOST" });
    expect(engineAddressOf(undefined, { DOCKER_HOST: "" })).toEqual({ url: DOCKER.defaultHost, setting: "default" });
  });

  it("connects to the socket of unix://, the engine port of tcp:// and the SSH port of ssh://", () => {
    expect(probeTargetOf("unix:///run/docker.sock")).toEqual({ kind: "unix", path: "/run/docker.sock" });
    expect(probeTargetOf("tcp://build-box:2376")).toEqual({ kind: "tcp", host: "build-box", port: 2376 });
    expect(probeTargetOf("tcp://build-box")).toEqual({ kind: "tcp", host: "build-box", port: 2375 });
    expect(probeTargetOf("tcp://build-box", true)).toEqual({ kind: "tcp", host: "build-box", port: 2376 });
    expect(probeTargetOf("ssh://me@build-box")).toEqual({ kind: "tcp", host: "build-box", port: 22 });
    expect(probeTargetOf("ssh://me@[::1]:2222")).toEqual({ kind: "tcp", host: "::1", port: 2222 });
    expect(probeTargetOf("npipe:////./pipe/docker_engine")).toBeUndefined();
  });
});

describe("the engine problem", () => {
  it("names docker.host, the address, the connection's error and the command that checks it", () => {
    expect(engineProblem({ url: "unix:///nowhere.sock", setting: "docker.host" }, refused)).toBe(
      'docker.host: no Docker engine answers for "unix:///nowhere.sock" (connect ENOENT /nowhere.sock); start the engine or correct docker.host, then check it with: docker -H unix:///nowhere.sock info',
    );
  });

  it("names DOCKER_HOST when the address came from the environment", () => {
    const problem = engineProblem({ url: "tcp://build-box:2375", setting: "DOCKER_HOST" }, () => "connect ECONNREFUSED 10.0.0.9:2375");
    expect(problem).toMatch(/^DOCKER_HOST: nothing answers on build-box:2375 for "tcp:\/\/build-box:2375", taken from the environment/);
    expect(problem).toContain("correct or unset DOCKER_HOST, or set docker.host, then check it with: docker -H tcp://build-box:2375 info");
  });

  it("says the local socket was used because nothing was set", () => {
    expect(engineProblem({ url: DOCKER.defaultHost, setting: "default" }, refused)).toMatch(
      /^docker\.host: not set and DOCKER_HOST is empty, so the engine is the local socket, but no Docker engine answers at unix:\/\/\/var\/run\/docker\.sock .*docker -H unix:\/\/\/var\/run\/docker\.sock info$/,
    );
  });

  it("blames the SSH server for ssh://, and gives the TLS flags for a certPath", () => {
    expect(engineProblem({ url: "ssh://me@build-box", setting: "docker.host" }, refused)).toContain("no SSH server answers on build-box:22");
    expect(engineProblem({ url: "tcp://build-box", setting: "docker.host" }, refused, "/certs")).toContain(
      'nothing answers on build-box:2376 for "tcp://build-box" (connect ENOENT /nowhere.sock); start the engine or correct docker.host, then check it with: docker -H tcp://build-box --tlsverify --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem info',
    );
  });

  it("is none when the engine answers, or for an address the probe cannot judge", () => {
    expect(engineProblem({ url: "unix:///run/docker.sock", setting: "docker.host" }, answers)).toBeUndefined();
    expect(engineProblem({ url: "fd://", setting: "DOCKER_HOST" }, refused)).toBeUndefined();
  });
});

describe("the real probe", () => {
  it("reports a socket that does not exist", () => {
    const missing = scratchSocket("missing.sock");
    expect(realEngineProbe({ kind: "unix", path: missing })).toBe(`connect ENOENT ${missing}`);
  });

  it("accepts a socket that answers Docker's /_ping, and refuses one that answers something else", async () => {
    const engine = scratchSocket("engine.sock");
    await listening(
      http.createServer((request, response) => response.writeHead(request.url === "/_ping" ? 200 : 404).end("OK")),
      engine,
    );
    const other = scratchSocket("other.sock");
    await listening(
      net.createServer((socket) => socket.end("SSH-2.0-OpenSSH\r\n")),
      other,
    );
    expect(await probeInChild({ kind: "unix", path: engine })).toBeUndefined();
    expect(await probeInChild({ kind: "unix", path: other })).toBe("the socket answers, but not as a Docker engine: SSH-2.0-OpenSSH");
  });

  it("reports a TCP port nobody listens on, and accepts one somebody does", async () => {
    const server = net.createServer((socket) => socket.end());
    await listening(server, 0);
    const { port } = server.address() as net.AddressInfo;
    expect(await probeInChild({ kind: "tcp", host: "127.0.0.1", port })).toBeUndefined();
    server.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await probeInChild({ kind: "tcp", host: "127.0.0.1", port })).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it("can be switched off", () => {
    expect(defaultEngineProbe({ [SKIP_ENGINE_CHECK]: "1" })).toBeUndefined();
    expect(defaultEngineProbe({})).toBe(realEngineProbe);
  });
});

describe("resolving the component's arguments", () => {
  it("spells out DOCKER_HOST (and its TLS client files) when docker is not set, and leaves other schemes to the providers", () => {
    const env = { DOCKER_HOST: "tcp://build-box:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" };
    expect(withEnvironmentDockerHost({}, env)).toEqual({ docker: { host: "tcp://build-box:2376", certPath: "/certs" } });
    expect(withEnvironmentDockerHost({ docker: { host: "ssh://me@box" } }, env)).toEqual({ docker: { host: "ssh://me@box" } });
    expect(withEnvironmentDockerHost({}, { DOCKER_HOST: "fd://" })).toEqual({});
    expect(withEnvironmentDockerHost({}, {})).toEqual({});
  });

  it("fails with one ConfigError naming docker.host before anything is declared", () => {
    const workspace = makeWorkspace();
    const args = { workspace: workspace.dir, image: { agentUid: workspace.uid, agentGid: workspace.gid }, docker: { host: "unix:///nonexistent/docker.sock" } };
    let thrown: unknown;
    try {
      resolveArgs(args, undefined, undefined, realEngineProbe, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual([
      'docker.host: no Docker engine answers for "unix:///nonexistent/docker.sock" (connect ENOENT /nonexistent/docker.sock); start the engine or correct docker.host, then check it with: docker -H unix:///nonexistent/docker.sock info',
    ]);
  });
});

/** realEngineProbe's own command, run without blocking: the servers answering it live in this process. */
async function probeInChild(target: ProbeTarget): Promise<string | undefined> {
  const [node, ...args] = probeCommand(target);
  return new Promise((resolve) => execFile(node, args, (error, _stdout, stderr) => resolve(error ? stderr.trim() : undefined)));
}
