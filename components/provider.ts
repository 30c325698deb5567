/**
 * The component provider other Pulumi languages reach through `pulumi package add` (PulumiPlugin.yaml):
 * Pulumi's component host for AgentSandboxes, its schema inferred from the TypeScript types by Pulumi's
 * analyzer, plus what the analyzer cannot infer: which inputs are secrets. Marked there, every generated
 * SDK sends them as secrets, so they are encrypted in the consumer's state from the first step.
 *
 * The analyzer finds the library's source from package.json: it takes `exports["."].default` and reads
 * its `.ts` twin, else `index.ts` or `src/index.ts` at the root. Node takes the `node` condition (the
 * compiled dist/), so `default` names components/index.js, whose twin is the library's entry.
 */
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental/provider";
import { main } from "@pulumi/pulumi/provider/server";
import { AgentSandboxes } from "./agent-sandboxes";
import { SECRET_KEYS } from "./config/resolve-args";
import { PACKAGE_ROOT } from "./package-files";

/** The package name: the first part of every type token (`agent-sandbox:index:AgentSandboxes`). */
export const PROVIDER_NAME = "agent-sandbox";

interface PackageSchema {
  resources: Record<string, { inputProperties: Record<string, { secret?: boolean }> }>;
}

/** The analyzer's schema with the secret inputs marked. */
export function markSecretInputs(schemaText: string): string {
  const schema = JSON.parse(schemaText) as PackageSchema;
  const inputs = schema.resources[`${PROVIDER_NAME}:index:AgentSandboxes`].inputProperties;
  for (const key of SECRET_KEYS) inputs[key] = { ...inputs[key], secret: true };
  return JSON.stringify(schema);
}

export class AgentSandboxesProvider extends ComponentProvider {
  constructor() {
    super({ name: PROVIDER_NAME, components: [AgentSandboxes], dirname: PACKAGE_ROOT });
  }

  override async getSchema(): Promise<string> {
    return markSecretInputs(await super.getSchema());
  }
}

/** Serves the provider to the engine; Pulumi's plugin runner awaits this module's export. */
export function serve(args: string[] = process.argv.slice(2)): Promise<void> {
  return main(new AgentSandboxesProvider(), args);
}
