import { describe, expect, it } from "vitest";
import {
  exposesEngineSocket,
  judgeHostBind,
  looksLikeCredentialPath,
  normalizeHostPath,
  sensitiveHostPathReason,
} from "../../components/guardrails/host-paths";

const home = "/home/dev";

describe("normalizeHostPath", () => {
  it("collapses double slashes, dot-dot segments and a trailing slash", () => {
    expect(normalizeHostPath("/srv//projects/../etc/", home)).toBe("/srv/etc");
  });

  it("expands a leading tilde to the home folder", () => {
    expect(normalizeHostPath("~/.ssh/", home)).toBe("/home/dev/.ssh");
  });

  it("keeps the filesystem root as a single slash", () => {
    expect(normalizeHostPath("///", home)).toBe("/");
  });
});

describe("sensitiveHostPathReason", () => {
  it.each(["/", "/etc", "/etc/shadow", "/var/run", "/run/containerd", "/proc/1", "/sys", "/dev/sda", "/boot"])("refuses %s", (hostPath) => {
    expect(sensitiveHostPathReason(hostPath, home, true)).toMatch(/host|filesystem|socket/);
  });

  it("refuses a path that only reaches /etc through dot-dot segments", () => {
    expect(sensitiveHostPathReason("/home/dev/../../etc/", home, true)).toMatch(/inside \/etc/);
  });

  it("refuses the Docker socket wherever it lives", () => {
    expect(sensitiveHostPathReason("/home/dev/.docker/run/docker.sock", home, true)).toMatch(/API socket/);
  });

  it("refuses the home folder itself, with or without a trailing slash", () => {
    expect(sensitiveHostPathReason("/home/dev/", home, true)).toMatch(/home folder itself/);
    expect(sensitiveHostPathReason("~", home, true)).toMatch(/home folder itself/);
  });

  it("refuses ~/.ssh mounted read-write", () => {
    expect(sensitiveHostPathReason("/home/dev/.ssh", home, false)).toMatch(/read-only/);
  });

  it("accepts ~/.ssh mounted read-only", () => {
    expect(sensitiveHostPathReason("/home/dev/.ssh/id_ed25519", home, true)).toBeUndefined();
  });

  it("accepts a project folder inside the home folder", () => {
    expect(sensitiveHostPathReason("/home/dev/components/app", home, false)).toBeUndefined();
  });

  it("accepts a sibling whose name merely starts like a sensitive folder", () => {
    expect(sensitiveHostPathReason("/etcetera/app", home, false)).toBeUndefined();
  });

  it("refuses a relative path and says to use an absolute one", () => {
    expect(sensitiveHostPathReason("../etc", home, true)).toMatch(/absolute path/);
  });
});

describe("exposesEngineSocket", () => {
  it.each(["/var/run/docker.sock", "/run/docker.sock", "/var/run/", "/run", "/srv/x/docker.sock"])("is true for %s", (p) => {
    expect(exposesEngineSocket(p, home)).toBe(true);
  });

  it("is false for an ordinary project folder", () => {
    expect(exposesEngineSocket("/srv/project", home)).toBe(false);
  });
});

describe("looksLikeCredentialPath", () => {
  it.each([
    "/home/dev/.ssh",
    "/home/dev/.aws/credentials",
    "/home/dev/.config/gcloud",
    "/home/dev/.docker/config.json",
    "/home/dev/.netrc",
    "/home/dev/.git-credentials",
    "/srv/tls/server.pem",
    "/srv/tls/server.key",
    "/srv/secrets/anthropic-api-key",
    "/srv/secrets/github_token.txt",
  ])("is true for %s", (p) => {
    expect(looksLikeCredentialPath(p, home)).toBe(true);
  });

  it("is false for a source folder", () => {
    expect(looksLikeCredentialPath("/home/dev/components/keyboard-app", home)).toBe(false);
  });
});

describe("judgeHostBind", () => {
  it.each([
    ["/var/run/docker.sock", "docker-socket"],
    ["/home/dev/.docker/run/docker.sock", "docker-socket"],
    ["/", "host-root-mount"],
    ["/home/dev/", "home-folder-mount"],
  ])("lets %s through only with the %s acknowledgement", (hostPath, item) => {
    expect(judgeHostBind(hostPath, home, true)?.acknowledgement).toBe(item);
  });

  it.each(["/var/run", "/run", "/etc/passwd", "relative/dir"])("refuses %s outright", (hostPath) => {
    const judgement = judgeHostBind(hostPath, home, true);
    expect(judgement?.reason).toBeDefined();
    expect(judgement?.acknowledgement).toBeUndefined();
  });
});
