/**
 * The plugin entry (package.json `main`): Pulumi's plugin runner requires it and awaits its export, the
 * running provider. Programs import the library through `exports` (components/index.ts) and never load this.
 */
import { serve } from "./provider";

export = serve();
