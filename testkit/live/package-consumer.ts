/**
 * A Pulumi program in another language that consumes the packed library through `pulumi package add`,
 * as another team would: its own project folder, PULUMI_HOME and file backend, driven by the real CLI.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { CliProject } from "./cli-project";

const REPOSITORY = path.resolve(__dirname, "../..");
/** The provider plugins the component's own SDK dependencies ask for. */
const PROVIDER_PACKAGES = ["command", "docker", "docker-build", "kubernetes"];

/** `npm pack` of the repository, unpacked into `into`: the package folder a consumer points at. */
export function packedLibrary(into: string): string {
  const [{ filename }] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", into], { cwd: REPOSITORY, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
  );
  execFileSync("tar", ["-xzf", path.join(into, filename), "-C", into]);
  return path.join(into, "package");
}

export class ConsumerProject extends CliProject {
  /** A project folder holding `Pulumi.yaml` as given, its stack created with passphrase secrets. */
  static async create(stack: string, project: Record<string, unknown>): Promise<ConsumerProject> {
    const created = new ConsumerProject(CliProject.scratch("agent-sandbox-consumer-"), stack);
    fs.writeFileSync(path.join(created.programDir, "Pulumi.yaml"), stringify(project));
    await created.initStack();
    return created;
  }

  /**
   * Puts the providers found on PATH into this PULUMI_HOME's plugin cache: `package add` looks for the
   * package's plugin dependencies only there, and would otherwise try to download them.
   */
  async installProviderPlugins(): Promise<void> {
    for (const name of PROVIDER_PACKAGES) {
      const { version } = JSON.parse(fs.readFileSync(path.join(REPOSITORY, "node_modules/@pulumi", name, "package.json"), "utf8"));
      const binary = execFileSync("sh", ["-c", `command -v pulumi-resource-${name}`], { encoding: "utf8" }).trim();
      await this.pulumi(["plugin", "install", "resource", name, version, "--file", binary]);
    }
  }

  /** The stack's state as the engine wrote it. */
  async stateText(): Promise<string> {
    return (await this.pulumi(["stack", "export"])).stdout;
  }
}
