/**
 * A small TypeScript Pulumi program of a test's own on the local cluster, driven by the real CLI with the
 * @pulumi/kubernetes of package.json and the pulumi-resource-kubernetes setup-pulumi.sh builds: its own
 * project folder, PULUMI_HOME and file backend (CliProject), the checkout's node_modules linked.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { CliProject } from "./cli-project";

const REPOSITORY = path.resolve(__dirname, "../..");

export class KubernetesProgram extends CliProject {
  /** A project whose index.ts is `source`, its stack created with passphrase secrets and `config` set. */
  static async create(stack: string, source: string, config: Record<string, string>): Promise<KubernetesProgram> {
    const created = new KubernetesProgram(CliProject.scratch("agent-sandbox-kubernetes-"), stack);
    const dir = created.programDir;
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      stringify({ name: "cluster-proof", runtime: { name: "nodejs", options: { typescript: true } }, main: "index.ts" }),
    );
    fs.writeFileSync(path.join(dir, "index.ts"), source);
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, target: "ES2023", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true },
      }),
    );
    fs.symlinkSync(path.join(REPOSITORY, "node_modules"), path.join(dir, "node_modules"));
    await created.initStack();
    for (const [key, value] of Object.entries(config)) await created.pulumi(["config", "set", key, value]);
    return created;
  }
}
