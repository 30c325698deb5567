/**
 * tsx scripts/check-config-size.ts <stack file>
 * Run by scripts/stack.sh before `pulumi up|preview`: refuses a stack file whose config the Pulumi CLI
 * could not hand the program (pulumi-config-env.ts), naming its biggest value and the fix, where the CLI
 * itself would only say "argument list too long".
 */
import * as fs from "node:fs";
import { parse } from "yaml";
import { CONFIG_NAMESPACE } from "../components/config/stack-schema";
import { configSizeProblem } from "./pulumi-config-env";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: tsx scripts/check-config-size.ts <stack file>");
  process.exit(64);
}
// A stack just made by `pulumi stack init` may have no file yet: nothing to pass on, nothing too big.
const config = fs.existsSync(file) ? ((parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) : {};
const problem = configSizeProblem(config, CONFIG_NAMESPACE);
if (problem) {
  console.error(`${file}: ${problem}`);
  process.exit(1);
}
