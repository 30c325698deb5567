import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT, packageFile } from "../../components/package-files";

describe("files shipped with the package", () => {
  it("are found from the package's own folder, the one holding docker/", () => {
    expect(path.resolve(PACKAGE_ROOT, "docker/agent/Dockerfile")).toBe(path.resolve(__dirname, "../../docker/agent/Dockerfile"));
  });

  it("are named relative to a working directory they lie in, so every checkout declares the same context", () => {
    expect(packageFile("docker/agent", PACKAGE_ROOT)).toBe("docker/agent");
    expect(packageFile("docker/agent", path.dirname(PACKAGE_ROOT))).toBe(path.join(path.basename(PACKAGE_ROOT), "docker/agent"));
  });

  it("are named absolutely from a working directory elsewhere", () => {
    expect(packageFile("docker/agent", "/nonexistent/program")).toBe(path.join(PACKAGE_ROOT, "docker/agent"));
  });
});
