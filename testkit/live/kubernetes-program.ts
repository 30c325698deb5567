/**
 * A small Pulumi YAML program of a test's own on the local cluster, driven by the real CLI and its YAML
 * language host with the pulumi-resource-kubernetes setup-pulumi.sh builds: its own project folder,
 * PULUMI_HOME and file backend (CliProject). YAML needs no SDK: the component's package.json stays free of
 * @pulumi/kubernetes until the component itself uses it (a dependency there, even a dev one, makes every
 * consumer's `pulumi package add` fetch the kubernetes plugin).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { CliProject } from "./cli-project";

export class KubernetesProgram extends CliProject {
  /** A project whose Pulumi.yaml is `program` (name and runtime added), its stack created and `config` set. */
  static async create(stack: string, program: Record<string, unknown>, config: Record<string, string>): Promise<KubernetesProgram> {
    const created = new KubernetesProgram(CliProject.scratch("agent-sandbox-kubernetes-"), stack);
    fs.writeFileSync(path.join(created.programDir, "Pulumi.yaml"), stringify({ name: "cluster-proof", runtime: "yaml", ...program }));
    await created.initStack();
    for (const [key, value] of Object.entries(config)) await created.pulumi(["config", "set", key, value]);
    return created;
  }
}
