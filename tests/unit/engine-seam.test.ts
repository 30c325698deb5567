/**
 * The engine seam (components/engine/engine.ts, client.ts): what the Docker engine is to the program, and
 * the command lines every script builds through it. The facts are pinned because existing stacks hold
 * them in their inputs and commands: a change here would replace containers or re-run commands.
 */

import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { cliCommand, dialEngine, engineClient, environmentTarget, runCli, typedCommand } from "../../components/engine/client";
import { DOCKER, KNOWN_ENGINES, PODMAN } from "../../components/engine/engine";
import { exposesEngineSocket } from "../../components/guardrails/host-paths";
import { containerOptions, containerWithUnreportedInputs, UNREPORTED_INPUTS_LABEL } from "../../components/hardening/container-start";
import { runWithFakeDocker } from "./support/fake-docker";

const remote = engineClient({ host: "tcp://build-box:2376", certPath: "/certs" });

describe("the Docker engine", () => {
  it("keeps the facts existing stacks were declared with", () => {
    expect(DOCKER).toMatchObject({
      cli: "docker",
      defaultHost: "unix:///var/run/docker.sock",
      hostGateway: { host: "host.docker.internal", ip: "host-gateway" },
      network: { driver: "bridge" },
      pidsLimit: { kind: "update" },
      scheduledHealth: true,
    });
    expect(DOCKER.isolatedNetworkOptions("any-net")).toEqual({ "com.docker.network.bridge.inhibit_ipv4": "true" });
    expect(DOCKER.hostGatewayEntry(() => "10.0.0.1")).toEqual({ host: "host.docker.internal", ip: "host-gateway" });
    expect(DOCKER.sockets.paths[0]).toBe("/var/run/docker.sock");
  });

  it("reaches a remote engine through DOCKER_HOST, with the TLS variables only when certificates are given", () => {
    expect(engineClient().env).toEqual({});
    expect(engineClient({ host: "ssh://me@box" }).env).toEqual({ DOCKER_HOST: "ssh://me@box" });
    expect(remote.env).toEqual({ DOCKER_HOST: "tcp://build-box:2376", DOCKER_CERT_PATH: "/certs", DOCKER_TLS_VERIFY: "1" });
  });

  it("reads back from an environment the engine those variables name, and only one the CLI can be pointed at", () => {
    expect(environmentTarget(remote.env)).toEqual({ host: "tcp://build-box:2376", certPath: "/certs" });
    expect(environmentTarget({ DOCKER_HOST: "ssh://me@box", DOCKER_CERT_PATH: "/certs" })).toEqual({ host: "ssh://me@box" });
    expect(environmentTarget({ DOCKER_HOST: "fd://" })).toBeUndefined();
    expect(environmentTarget({})).toBeUndefined();
  });

  it("names the CLI flags of the same engine for a person's check command", () => {
    expect(DOCKER.hostFlags({ host: "ssh://me@box" })).toEqual(["-H", "ssh://me@box"]);
    expect(DOCKER.hostFlags({ host: "tcp://b:2376", certPath: "/c" })).toEqual([
      "-H",
      "tcp://b:2376",
      "--tlsverify",
      "--tlscacert",
      "/c/ca.pem",
      "--tlscert",
      "/c/cert.pem",
      "--tlskey",
      "/c/key.pem",
    ]);
  });

  it("refuses a bind of any known engine's socket, whichever engine the stack runs on", () => {
    for (const socket of KNOWN_ENGINES.flatMap((engine) => [...engine.sockets.paths, ...engine.sockets.names.map((name) => `/srv/x/${name}`)])) {
      expect(exposesEngineSocket(socket, "/home/dev"), socket).toBe(true);
    }
  });
});

describe("the command prefix", () => {
  it("starts the CLI under env -i with PATH and HOME, the local engine's way", () => {
    expect(cliCommand(engineClient())).toBe('env -i PATH="$PATH" HOME="$HOME" docker');
  });

  it("reads a remote engine's variables from the script's environment, never writing their values into it", () => {
    expect(cliCommand(remote)).toBe(
      'env -i PATH="$PATH" HOME="$HOME" DOCKER_HOST="$DOCKER_HOST" DOCKER_CERT_PATH="$DOCKER_CERT_PATH" DOCKER_TLS_VERIFY="$DOCKER_TLS_VERIFY" docker',
    );
  });

  it("hands the CLI only PATH, HOME and the engine's variables", () => {
    const run = runWithFakeDocker(`${cliCommand(remote)} info`, { env: remote.env });
    const names = run
      .env()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("=")[0])
      .filter((name) => name !== "PWD" && name !== "SHLVL" && name !== "_");
    expect(names.sort()).toEqual(["DOCKER_CERT_PATH", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "HOME", "PATH"]);
    expect(run.args()).toEqual(["info"]);
  });
});

describe("an engine over ssh", () => {
  const overSsh = engineClient({ host: "ssh://me@build-box" });

  it("passes the shell's ssh agent on to the CLI, set or not, and no other engine gets it", () => {
    expect(cliCommand(overSsh)).toBe('env -i PATH="$PATH" HOME="$HOME" DOCKER_HOST="$DOCKER_HOST" SSH_AUTH_SOCK="${SSH_AUTH_SOCK-}" docker');
    expect(cliCommand(remote)).not.toContain("SSH_AUTH_SOCK");
    // Scripts run under `set -eu`: an unset agent socket must not stop them.
    const unset = runWithFakeDocker(`set -eu; ${cliCommand(overSsh)} info`, { env: overSsh.env });
    expect(unset.status, unset.stderr).toBe(0);
    expect(unset.env()).toMatch(/^SSH_AUTH_SOCK=$/m);
  });

  it("dials the engine's API through the CLI, whose stdin and stdout are the connection", async () => {
    // `cat` stands in for the CLI: what is written comes back.
    const connection = dialEngine({ ...overSsh, cli: "sh", dialArgs: ["-c", 'test "$DOCKER_HOST" = ssh://me@build-box && exec cat'] });
    const echoed = new Promise<string>((resolve) => connection.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    connection.write("GET /_ping HTTP/1.1\r\n");
    expect(await echoed).toBe("GET /_ping HTTP/1.1\r\n");
    connection.destroy();
  });

  it("fails the connection with the CLI's own error when it cannot dial", async () => {
    const connection = dialEngine({ ...overSsh, cli: "sh", dialArgs: ["-c", "echo 'Host key verification failed.' >&2; exit 255"] });
    const failure = await new Promise<Error>((resolve) => connection.once("error", resolve));
    expect(failure.message).toBe("sh -c echo 'Host key verification failed.' >&2; exit 255 exited 255: Host key verification failed.");
  });
});

describe("the command a person types", () => {
  it("spells out a remote engine's variables and quotes what the shell would read", () => {
    expect(typedCommand(engineClient({ host: "ssh://me@box" }), ["exec", "-it", "c", "sh", "-c", "echo $HOME"])).toBe(
      "DOCKER_HOST='ssh://me@box' docker exec -it c sh -c 'echo $HOME'",
    );
  });
});

describe("running the CLI from this process", () => {
  it("gives it the same clean environment as a script's prefix", () => {
    const saved = { PATH: process.env.PATH, SECRET: process.env.AGENT_SANDBOX_TEST_SECRET };
    process.env.AGENT_SANDBOX_TEST_SECRET = "must-not-leak";
    process.env.PATH = `/nonexistent:${saved.PATH}`;
    try {
      // `env` stands in for the CLI, printing what it was given.
      const result = runCli({ ...remote, cli: "env" }, [], 5_000);
      expect(result.stdout).toContain("DOCKER_HOST=tcp://build-box:2376");
      expect(result.stdout).toContain(`PATH=/nonexistent:${saved.PATH}`);
      expect(result.stdout).not.toContain("must-not-leak");
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.SECRET === undefined) delete process.env.AGENT_SANDBOX_TEST_SECRET;
      else process.env.AGENT_SANDBOX_TEST_SECRET = saved.SECRET;
    }
  });
});

describe("Podman, the second engine", () => {
  const resolved = <T>(output: pulumi.Input<T>) => new Promise<T>((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));

  it("is the same CLI at its own socket, naming the host by the gateway of the network a container leaves by", async () => {
    expect(PODMAN).toMatchObject({ kind: "podman", cli: "docker", defaultHost: "unix:///run/podman/podman.sock", scheduledHealth: false });
    expect(PODMAN.hostGatewayEntry(() => "10.89.3.1")).toEqual({ host: "host.docker.internal", ip: "10.89.3.1" });
    expect(PODMAN.healthCheckNow("unix:///run/podman/podman.sock", "c1")).toEqual([
      "podman",
      "--url",
      "unix:///run/podman/podman.sock",
      "healthcheck",
      "run",
      "c1",
    ]);
    expect(KNOWN_ENGINES.map((engine) => engine.kind)).toEqual(["docker", "podman"]);
  });

  it("carries the inputs Podman does not report back in a label, so an edit of one still changes the container's inputs", async () => {
    const args = { name: "c", image: "i", labels: [{ label: "a", value: "b" }], mounts: [{ type: "bind", source: "/w", target: "/workspace" }] };
    expect(containerWithUnreportedInputs(args, DOCKER)).toBe(args);
    const labelsOf = async (mounts: typeof args.mounts) =>
      (await resolved(containerWithUnreportedInputs({ ...args, mounts }, PODMAN).labels ?? [])) as { label: string; value: string }[];
    const labels = await labelsOf(args.mounts);
    expect(labels[0]).toEqual({ label: "a", value: "b" });
    expect(labels[1].label).toBe(UNREPORTED_INPUTS_LABEL);
    expect(await labelsOf(args.mounts)).toEqual(labels);
    expect((await labelsOf([{ type: "bind", source: "/other", target: "/workspace" }]))[1].value).not.toBe(labels[1].value);
    expect(containerOptions(PODMAN).ignoreChanges).toEqual([...PODMAN.unreportedContainerInputs]);
    expect(containerOptions(DOCKER).ignoreChanges).toEqual([]);
  });
});
